package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/search/searchtest"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

// Static tokens of the access tests, one per role.
const (
	pupilToken    = "pupil-token-0123456789"
	teacherToken  = "teacher-token-0123456789"
	editorToken   = "editor-token-0123456789"
	operatorToken = "operator-token-0123456789"
	noRoleToken   = "norole-token-0123456789"
)

// accessServer serves the test items with static tokens and the given
// anonymous view.
func accessServer(t *testing.T, anonymous string) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ix := testenv.Indices(t, testenv.Config(t))
	searchtest.Load(t, ctx, ix)
	educ, err := search.NewSearcher(ix.ES, ix.Alias(esindex.Education))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := search.NewSearcher(ix.ES, ix.Alias(esindex.Catalog))
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Static: []auth.StaticToken{
		{Token: pupilToken, User: "p1", Roles: []string{auth.Pupil}},
		{Token: teacherToken, User: "t1", Name: "Leen Leerkracht", Roles: []string{auth.Teacher}},
		{Token: editorToken, User: "e1", Roles: []string{auth.Editor}},
		{Token: operatorToken, User: "o1", Roles: []string{auth.Operator}},
		{Token: noRoleToken, User: "n1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&api.Server{Search: educ, Catalog: cat, Auth: a, Anonymous: anonymous}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// call GETs url with token (none when empty) and returns the status, the
// WWW-Authenticate header and the decoded body.
func call(t *testing.T, url, token string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return res.StatusCode, res.Header.Get("WWW-Authenticate"), out
}

func total(t *testing.T, body map[string]any) int {
	t.Helper()
	n, ok := body["total"].(float64)
	if !ok {
		t.Fatalf("no total in %v", body)
	}
	return int(n)
}

func TestRolesDecideWhatACallerSees(t *testing.T) {
	srv := accessServer(t, "")
	_, _, teacherView := call(t, srv.URL+"/api/search", teacherToken)
	_, _, pupilView := call(t, srv.URL+"/api/search?scope=pupil", teacherToken)
	teacher, pupil := total(t, teacherView), total(t, pupilView)
	if teacher <= pupil || pupil == 0 {
		t.Fatalf("test items: teacher view %d, pupil view %d: want more for teachers and some for pupils", teacher, pupil)
	}
	for _, c := range []struct {
		name, token, query string
		want               int
	}{
		{"a pupil asking for the teacher scope gets the pupil scope", pupilToken, "?scope=teacher", pupil},
		{"a pupil's plain search is the pupil scope", pupilToken, "", pupil},
		{"an anonymous caller gets the pupil scope by default", "", "?scope=teacher", pupil},
		{"a signed-in user without a role is anonymous", noRoleToken, "?scope=teacher", pupil},
		{"an editor searches as a teacher", editorToken, "", teacher},
		{"an operator searches as a teacher", operatorToken, "", teacher},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := call(t, srv.URL+"/api/search"+c.query, c.token)
			if status != http.StatusOK || total(t, body) != c.want {
				t.Errorf("%d, total %v, want 200 and %d", status, body["total"], c.want)
			}
		})
	}

	// The catalog holds more than the education index, for editors only.
	status, _, body := call(t, srv.URL+"/api/search?index=catalog", editorToken)
	if status != http.StatusOK || total(t, body) <= teacher {
		t.Errorf("editor on the catalog: %d, total %v, want 200 and more than %d", status, body["total"], teacher)
	}
	status, challenge, body := call(t, srv.URL+"/api/search?index=catalog", teacherToken)
	if status != http.StatusForbidden || body["error"] != "the catalog is for editors; you are teacher" || challenge != "" {
		t.Errorf("teacher on the catalog: %d %v %q", status, body, challenge)
	}
	status, challenge, _ = call(t, srv.URL+"/api/items/x?index=catalog", "")
	if status != http.StatusUnauthorized || challenge != `Bearer realm="avo"` {
		t.Errorf("anonymous on the catalog: %d %q", status, challenge)
	}
	status, _, body = call(t, srv.URL+"/api/facets/type?index=catalog", pupilToken)
	if status != http.StatusForbidden {
		t.Errorf("pupil on the catalog's facets: %d %v", status, body)
	}

	// A token the server does not know is refused, never taken as anonymous.
	status, challenge, body = call(t, srv.URL+"/api/search", "not-a-token")
	if status != http.StatusUnauthorized || challenge != `Bearer realm="avo", error="invalid_token", error_description="unknown token"` {
		t.Errorf("unknown token: %d %q %v", status, challenge, body)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/search", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Header.Get("WWW-Authenticate"), `must be \"Bearer TOKEN\"`) {
		t.Errorf("basic auth: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}

	// Who the server takes the caller for.
	_, _, me := call(t, srv.URL+"/api/me", teacherToken)
	user, _ := me["user"].(map[string]any)
	if me["signed_in"] != true || me["view"] != "teacher" || user["id"] != "t1" || user["name"] != "Leen Leerkracht" {
		t.Errorf("/api/me as a teacher: %v", me)
	}
	_, _, me = call(t, srv.URL+"/api/me", "")
	if me["signed_in"] != false || me["view"] != "pupil" {
		t.Errorf("/api/me anonymous: %v", me)
	}
}

func TestAnonymousNoneNeedsAToken(t *testing.T) {
	srv := accessServer(t, api.AnonymousNone)
	for _, path := range []string{"/api/search", "/api/facets/type", "/api/suggest?prefix=f", "/api/items/x", "/api/items/x/related"} {
		status, challenge, _ := call(t, srv.URL+path, "")
		if status != http.StatusUnauthorized || challenge != `Bearer realm="avo"` {
			t.Errorf("%s without a token: %d %q", path, status, challenge)
		}
	}
	if status, _, _ := call(t, srv.URL+"/api/search", teacherToken); status != http.StatusOK {
		t.Errorf("teacher: %d", status)
	}
	res, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz without a token: %d", res.StatusCode)
	}
}
