package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// TestEditorPublishesAsThemselves publishes and depublishes a harvested
// item through avo serve's editor API: the decision kept in S3 names the
// verified editor, not what a client says; other roles may not decide.
func TestEditorPublishesAsThemselves(t *testing.T) {
	f := newFixture(t)
	oai, _ := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})

	a, err := auth.New(auth.Config{Static: []auth.StaticToken{
		{Token: "editor-token-0123456789", User: "e1", Name: "Rik Redacteur", Roles: []string{auth.Editor}},
		{Token: "teacher-token-0123456789", User: "t1", Roles: []string{auth.Teacher}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	educ := f.education(t)
	srv := httptest.NewServer((&api.Server{Search: educ, Auth: a, Editorial: &editorial.Desk{Store: f.clients.Store, Indices: f.clients.Indices}}).Handler())
	t.Cleanup(srv.Close)
	post := func(path, token, body string) (int, map[string]any) {
		t.Helper()
		var out map[string]any
		return testenv.Call(t, http.MethodPost, srv.URL+path, token, body, &out).StatusCode, out
	}
	kept := func() editorial.Editorial {
		t.Helper()
		var ed editorial.Editorial
		if err := f.clients.Store.GetJSON(f.ctx, bucket.EditorialKey("dm01fiets01"), &ed); err != nil {
			t.Fatal(err)
		}
		return ed
	}

	for _, c := range []struct {
		name, path, token, body string
		status                  int
		err                     string
	}{
		{"anonymous", "/api/items/dm01fiets01/publish", "", "", http.StatusUnauthorized, "unauthorized: editors sign in to publish"},
		{"a teacher", "/api/items/dm01fiets01/publish", "teacher-token-0123456789", "", http.StatusForbidden, "publishing is for editors; you are teacher"},
		{"an unknown item", "/api/items/nosuchitem/publish", "editor-token-0123456789", "", http.StatusNotFound, "no item nosuchitem in the catalog"},
		{"an empty window", "/api/items/dm01fiets01/publish", "editor-token-0123456789", `{"at":"2027-01-02","until":"2027-01-01"}`, http.StatusBadRequest, "at 2027-01-02 is not before until 2027-01-01: the publish window would be empty"},
		{"a field it does not know", "/api/items/dm01fiets01/publish", "editor-token-0123456789", `{"by":"someone else"}`, http.StatusBadRequest, `body: json: unknown field "by"`},
		{"depublish without a reason", "/api/items/dm01fiets01/depublish", "editor-token-0123456789", `{}`, http.StatusBadRequest, "depublish needs a reason"},
		{"a body over the limit", "/api/items/dm01fiets01/depublish", "editor-token-0123456789", `{"reason":"` + strings.Repeat("x", 70_000) + `"}`, http.StatusRequestEntityTooLarge, "the body is over 65536 bytes"},
	} {
		if status, out := post(c.path, c.token, c.body); status != c.status || out["error"] != c.err {
			t.Errorf("%s: %d %v, want %d %q", c.name, status, out, c.status, c.err)
		}
	}

	status, out := post("/api/items/dm01fiets01/publish", "editor-token-0123456789", "")
	if status != http.StatusOK || out["visible"] != true {
		t.Fatalf("publish: %d %v", status, out)
	}
	if ed := kept(); !ed.Published || ed.By != "Rik Redacteur (e1)" {
		t.Errorf("kept decision %+v, want published by Rik Redacteur (e1)", ed)
	}
	if ids := f.educationIDs(t); len(ids) != 1 || ids[0] != "dm01fiets01" {
		t.Errorf("education index after publishing: %v", ids)
	}
	status, out = post("/api/items/dm01fiets01/depublish", "editor-token-0123456789", `{"reason":"rights withdrawn"}`)
	if status != http.StatusOK || out["visible"] != false {
		t.Fatalf("depublish: %d %v", status, out)
	}
	if ed := kept(); ed.Published || ed.DepublishReason != "rights withdrawn" || ed.By != "Rik Redacteur (e1)" {
		t.Errorf("kept decision %+v", ed)
	}
	if ids := f.educationIDs(t); len(ids) != 0 {
		t.Errorf("education index after depublishing: %v", ids)
	}
}
