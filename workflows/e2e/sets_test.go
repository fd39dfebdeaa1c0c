package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/curation"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"github.com/archiefvooronderwijs/avo/workflows"
)

const (
	editorToken  = "editor-token-0123456789"
	editor2Token = "editor2-token-0123456789"
	teacherToken = "teacher-token-0123456789"
	pupilToken   = "pupil-token-0123456789"
	history      = "https://w3id.org/onderwijs-vlaanderen/id/vak/geschiedenis"
	geography    = "https://w3id.org/onderwijs-vlaanderen/id/vak/aardrijkskunde"
)

// setsAPI is avo serve's API with curated sets, on the fixture's servers.
type setsAPI struct {
	t    *testing.T
	f    *fixture
	url  string
	desk *curation.Desk
}

func newSetsAPI(t *testing.T, f *fixture) *setsAPI {
	a, err := auth.New(auth.Config{Static: []auth.StaticToken{
		{Token: editorToken, User: "e1", Name: "Rik Redacteur", Roles: []string{auth.Editor}},
		{Token: editor2Token, User: "e2", Name: "Els Eindredacteur", Roles: []string{auth.Editor}},
		{Token: teacherToken, User: "t1", Roles: []string{auth.Teacher}},
		{Token: pupilToken, User: "p1", Roles: []string{auth.Pupil}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	educ := f.education(t)
	desk := curation.NewDesk(f.clients.Store, f.clients.Indices)
	desk.Notify = f.clients.NotifySet
	srv := httptest.NewServer((&api.Server{Search: educ, Auth: a, Sets: desk,
		Editorial: &editorial.Desk{Store: f.clients.Store, Indices: f.clients.Indices},
		ItemHistory: func(ctx context.Context, id string) ([]audit.Entry, error) {
			return editorial.History(ctx, f.clients.Store, id)
		}}).Handler())
	t.Cleanup(srv.Close)
	return &setsAPI{t: t, f: f, url: srv.URL, desk: desk}
}

// call sends a request with a token and, when version is set, If-Match;
// it returns the status, the ETag and the decoded answer.
func (s *setsAPI) call(method, path, token, version, body string) (int, string, map[string]any) {
	s.t.Helper()
	var out map[string]any
	status, etag := s.send(method, path, token, version, body, &out)
	return status, etag, out
}

// send is call with the answer decoded into out (when not nil).
func (s *setsAPI) send(method, path, token, version, body string, out any) (int, string) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.f.ctx, method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if version != "" {
		req.Header.Set("If-Match", version)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, resp.Header.Get("ETag")
}

// step takes a step on a set as editor 1 and returns the new version.
func (s *setsAPI) step(id, version, step, body string) string {
	s.t.Helper()
	status, ver, out := s.call(http.MethodPost, "/api/sets/"+id+"/"+step, editorToken, version, body)
	if status != http.StatusOK {
		s.t.Fatalf("%s %s: %d %v", step, id, status, out)
	}
	return ver
}

// status reads a set as S3 keeps it.
func (s *setsAPI) set(id string) *curation.Set {
	s.t.Helper()
	set, _, err := s.desk.Get(s.f.ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return set
}

// waitFor waits (bounded) until a set's status is want.
func (s *setsAPI) waitFor(id string, want curation.Status, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		set := s.set(id)
		if set.Status == want {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("set %s is %s after %s, want %s", id, set.Status, within, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// educationDoc reads a document of the education index (nil when absent).
func (s *setsAPI) educationDoc(id string) *esindex.Doc {
	s.t.Helper()
	docs, err := s.f.clients.Indices.Docs(s.f.ctx, esindex.Education, []string{id})
	if err != nil {
		s.t.Fatal(err)
	}
	if d, ok := docs[id]; ok {
		return &d
	}
	return nil
}

// search asks the search API as token's user and returns the hits' ids.
func (s *setsAPI) search(token, query string) []string {
	s.t.Helper()
	var out struct {
		Hits []struct {
			ID string `json:"id"`
		} `json:"hits"`
	}
	resp := testenv.Call(s.t, http.MethodGet, s.url+"/api/search?"+query, token, "", &out)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("search %s: %d", query, resp.StatusCode)
	}
	var ids []string
	for _, h := range out.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}

// TestCuratedSetFromDraftToTeachers takes a set through its whole life
// on the real servers: draft, review, rejection, fix, approval, a
// scheduled publication whose date is moved while it waits, found by the
// search API with its overrides on its items, kept through a rebuild,
// depublished while another set keeps a shared item visible, and gone.
func TestCuratedSetFromDraftToTeachers(t *testing.T) {
	f := newFixture(t)
	oai, _ := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	s := newSetsAPI(t, f)

	// Only editors make sets, and only from items the catalog holds.
	if status, _, out := s.call(http.MethodPost, "/api/sets", teacherToken, "", `{"title":"x"}`); status != http.StatusForbidden {
		t.Errorf("a teacher creating a set: %d %v", status, out)
	}
	if status, _, out := s.call(http.MethodPost, "/api/sets", editorToken, "", `{"id":"set-x","title":"x","items":[{"external_id":"nosuchitem"}]}`); status != http.StatusBadRequest || out["error"] != "item nosuchitem is not in the catalog" {
		t.Errorf("a set with an unknown item: %d %v", status, out)
	}
	if status, _, out := s.call(http.MethodPost, "/api/sets", editorToken, "", `{"id":"set-x","title":"x","items":[{"external_id":"dm01fiets01","overrides":{"subjects":["https://example.org/vak/x"]}}]}`); status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "subject https://example.org/vak/x is not in the vocabulary") {
		t.Errorf("a set with an unknown subject: %d %v", status, out)
	}

	body := `{"id":"set-verkeer","title":"Veilig op de fiets","description":"Verkeerseducatie voor de lagere school",
		"items":[{"external_id":"dm01fiets01","start":10,"end":40,"overrides":{"subjects":["` + history + `"],"description":"Fietsen door de geschiedenis"}},
		         {"external_id":"dm02belg001"}]}`
	status, v, out := s.call(http.MethodPost, "/api/sets", editorToken, "", body)
	if status != http.StatusCreated || v == "" {
		t.Fatalf("create: %d %v", status, out)
	}
	if status, _, _ := s.call(http.MethodGet, "/api/sets/set-verkeer", teacherToken, "", ""); status != http.StatusNotFound {
		t.Errorf("a teacher reading a draft: %d, want 404", status)
	}

	// Every change names the version it was made on.
	if status, _, _ := s.call(http.MethodPost, "/api/sets/set-verkeer/review", editorToken, "", ""); status != http.StatusPreconditionRequired {
		t.Errorf("a step without If-Match: %d, want 428", status)
	}
	v = s.step("set-verkeer", v, "review", "")
	if status, _, out := s.call(http.MethodPost, "/api/sets/set-verkeer/reject", editorToken, v, `{}`); status != http.StatusBadRequest {
		t.Errorf("a rejection without a comment: %d %v", status, out)
	}
	v = s.step("set-verkeer", v, "reject", `{"comment":"de titel mag korter"}`)
	if set := s.set("set-verkeer"); set.Status != curation.Draft || set.Review.Verdict != "rejected" || set.Review.Comment != "de titel mag korter" {
		t.Fatalf("after the rejection: %s %+v", set.Status, set.Review)
	}
	status, v, out = s.call(http.MethodPatch, "/api/sets/set-verkeer", editorToken, v, `{"title":"Fietsen"}`)
	if status != http.StatusOK {
		t.Fatalf("fix: %d %v", status, out)
	}
	v = s.step("set-verkeer", v, "review", "")
	v = s.step("set-verkeer", v, "approve", `{"comment":"ok"}`)

	// Published in an hour; then the date moves to now while it waits.
	v = s.step("set-verkeer", v, "publish", `{"publish_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`)
	time.Sleep(2 * time.Second)
	if set := s.set("set-verkeer"); set.Status != curation.Approved {
		t.Fatalf("published before its date: %s", set.Status)
	}
	if s.educationDoc("dm01fiets01") != nil {
		t.Fatal("an item of a set waiting for its date is visible")
	}
	v = s.step("set-verkeer", v, "withdraw", "")
	if set := s.set("set-verkeer"); set.PublishAt != nil || set.Pending() {
		t.Fatalf("a withdrawn publication is still planned: %v", set.PublishAt)
	}
	s.step("set-verkeer", v, "publish", `{"publish_at":"`+time.Now().Add(2*time.Second).UTC().Format(time.RFC3339)+`"}`)
	s.waitFor("set-verkeer", curation.Published, 30*time.Second)

	doc := s.educationDoc("set-verkeer")
	if doc == nil || doc.AdministrativeType != curation.Type || doc.ItemCount != 2 || doc.Title != "Fietsen" {
		t.Fatalf("the set's document: %+v", doc)
	}
	item := s.educationDoc("dm01fiets01")
	if item == nil || !slices.Contains(item.SubjectIDs, history) || item.Abstract != "Fietsen door de geschiedenis" || !slices.Contains(item.CuratedSets, "set-verkeer") {
		t.Fatalf("the set's item in the education index: %+v", item)
	}
	if got := s.search(teacherToken, "type=collectie"); !slices.Equal(got, []string{"set-verkeer"}) {
		t.Errorf("teacher's search for collections: %v", got)
	}
	if got := s.search(teacherToken, "subject="+history); !slices.Contains(got, "dm01fiets01") || !slices.Contains(got, "set-verkeer") {
		t.Errorf("teacher's search by the overridden subject: %v", got)
	}
	if got := s.search(pupilToken, "q=fietsen"); slices.Contains(got, "set-verkeer") {
		t.Errorf("a pupil found a collection: %v", got)
	}
	status, _, out = s.call(http.MethodGet, "/api/sets/set-verkeer", teacherToken, "", "")
	if status != http.StatusOK {
		t.Fatalf("a teacher reading the set: %d %v", status, out)
	}
	if items := out["items"].([]any); len(items) != 2 || items[0].(map[string]any)["external_id"] != "dm01fiets01" || items[0].(map[string]any)["start"] != 10.0 {
		t.Errorf("the set's items as teachers see them: %v", items)
	}

	// Overrides survive a harvest of the item and a rebuild.
	full := f.harvest(t, oai, workflows.HarvestOptions{Full: true})
	if _, err := f.rebuild(t, esindex.Education, workflows.RebuildOptions{}); err != nil {
		t.Fatalf("rebuild: %v (harvest %+v)", err, full.Counts)
	}
	if item := s.educationDoc("dm01fiets01"); item == nil || !slices.Contains(item.SubjectIDs, history) {
		t.Fatalf("after a harvest and a rebuild: %+v", item)
	}
	if s.educationDoc("set-verkeer") == nil {
		t.Fatal("the rebuild lost the published set")
	}

	// A second set holds dm01fiets01 too: depublishing the first keeps it.
	_, v2, out := s.call(http.MethodPost, "/api/sets", editorToken, "", `{"id":"set-tweede","title":"Tweede","items":[{"external_id":"dm01fiets01","overrides":{"subjects":["`+geography+`"]}}]}`)
	if v2 == "" {
		t.Fatalf("second set: %v", out)
	}
	v2 = s.step("set-tweede", v2, "review", "")
	v2 = s.step("set-tweede", v2, "approve", "")
	s.step("set-tweede", v2, "publish", "")
	s.waitFor("set-tweede", curation.Published, 30*time.Second)

	_, v, _ = s.call(http.MethodGet, "/api/sets/set-verkeer", editorToken, "", "")
	s.step("set-verkeer", v, "depublish", `{"reason":"vervangen","replaced_by":"set-tweede"}`)
	s.waitFor("set-verkeer", curation.Depublished, 30*time.Second)
	if s.educationDoc("set-verkeer") != nil {
		t.Error("a depublished set is still in the education index")
	}
	if s.educationDoc("dm02belg001") != nil {
		t.Error("an item only the depublished set held is still visible")
	}
	item = s.educationDoc("dm01fiets01")
	if item == nil || slices.Contains(item.SubjectIDs, history) || !slices.Contains(item.SubjectIDs, geography) || !slices.Equal(item.CuratedSets, []string{"set-tweede"}) {
		t.Fatalf("the item the second set still holds: %+v", item)
	}

	// The audit log has every change, with who and the versions.
	var log []map[string]any
	testenv.Call(t, http.MethodGet, s.url+"/api/sets/set-verkeer/history", editorToken, "", &log)
	var actions []string
	for _, e := range log {
		actions = append(actions, e["action"].(string))
		if e["by"] == "" || e["version_after"] == "" {
			t.Errorf("audit entry without author or version: %v", e)
		}
	}
	want := []string{"create", "review", "reject", "edit", "review", "approve", "publish", "withdraw", "publish", "publish", "depublish", "depublish"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit log actions %v, want %v", actions, want)
	}
	for i := 1; i < len(log); i++ {
		if log[i]["version_before"] != log[i-1]["version_after"] {
			t.Errorf("entry %d starts from version %v, the one before ended at %v", i, log[i]["version_before"], log[i-1]["version_after"])
		}
	}
	var itemLog []map[string]any
	testenv.Call(t, http.MethodGet, s.url+"/api/items/dm02belg001/history", editorToken, "", &itemLog)
	if len(itemLog) != 2 || itemLog[0]["by"] != "set set-verkeer" {
		t.Errorf("item history: %v", itemLog)
	}
}

// TestCuratedSetConflictsAndRefusals: two editors saving one set at once
// (the second gets 409 and the current version), and a set with an item
// lacking the education licence (its publication refused, the item named).
func TestCuratedSetConflictsAndRefusals(t *testing.T) {
	f := newFixture(t)
	oai, _ := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	s := newSetsAPI(t, f)

	// An item whose licence does not allow education use, and one whose
	// licence allows fragments only.
	for id, licence := range map[string]string{"dm99nolic01": "BEZOEKERTOOL-CONTENT", "dm98frag001": "ONDERWIJS-FRAGMENT"} {
		doc := esindex.Doc{ExternalID: id, Title: id, Licenses: []string{licence}, DurationSeconds: 300,
			SourceID: "test", Provenance: esindex.DocProvenance{Format: "oai_dc", Identifier: id, Raw: "s3://x/y", Harvest: "h", MappingVersion: "1"}}
		b, _ := json.Marshal(doc)
		if _, err := f.clients.Indices.Write(f.ctx, esindex.Catalog, []esindex.Op{{ID: doc.ExternalID, Doc: b}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.clients.Indices.Refresh(f.ctx, esindex.Catalog); err != nil {
		t.Fatal(err)
	}

	_, v, out := s.call(http.MethodPost, "/api/sets", editorToken, "", `{"id":"set-samen","title":"Samen","items":[{"external_id":"dm03klim001"},{"external_id":"dm99nolic01"},{"external_id":"dm98frag001"}]}`)
	if v == "" {
		t.Fatalf("create: %v", out)
	}
	status, v1, _ := s.call(http.MethodPatch, "/api/sets/set-samen", editorToken, v, `{"title":"Samen sterk"}`)
	if status != http.StatusOK {
		t.Fatalf("first editor's save: %d", status)
	}
	status, current, out := s.call(http.MethodPatch, "/api/sets/set-samen", editor2Token, v, `{"description":"tegelijk"}`)
	if status != http.StatusConflict || current != v1 || out["version"] != v1 {
		t.Fatalf("second editor's save on the old version: %d %s %v, want 409 with version %s", status, current, out, v1)
	}
	if set := s.set("set-samen"); set.Title != "Samen sterk" || set.Description != "" || set.Revision != 2 {
		t.Errorf("after the conflict: %+v", set)
	}

	// Two editors saving at the same moment on the same version: one wins.
	statuses := make(chan int, 2)
	for i, token := range []string{editorToken, editor2Token} {
		go func() {
			status, _, _ := s.call(http.MethodPatch, "/api/sets/set-samen", token, v1, fmt.Sprintf(`{"description":"gelijktijdig %d"}`, i))
			statuses <- status
		}()
	}
	got := []int{<-statuses, <-statuses}
	slices.Sort(got)
	if !slices.Equal(got, []int{http.StatusOK, http.StatusConflict}) {
		t.Fatalf("two saves at once on one version: %v, want one 200 and one 409", got)
	}
	set := s.set("set-samen")
	if set.Revision != 3 || !strings.HasPrefix(set.Description, "gelijktijdig ") {
		t.Fatalf("after two saves at once: revision %d, %q", set.Revision, set.Description)
	}
	_, v1, _ = s.call(http.MethodGet, "/api/sets/set-samen", editorToken, "", "")

	// The publication is refused, naming the item.
	status, _, out = s.call(http.MethodPost, "/api/sets/set-samen/publish", editorToken, v1, "")
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "2 items lack the education licence (VIAA-ONDERWIJS, or ONDERWIJS-FRAGMENT for a fragment): dm99nolic01, dm98frag001") {
		t.Errorf("publishing a set with an unlicensed item: %d %v", status, out)
	}
	if s.educationDoc("dm03klim001") != nil || s.educationDoc("set-samen") != nil {
		t.Error("a refused publication made something visible")
	}
	// A fragment past the item's end is refused; within it, it may be published.
	if status, _, out := s.call(http.MethodPatch, "/api/sets/set-samen", editorToken, v1, `{"items":[{"external_id":"dm03klim001"},{"external_id":"dm98frag001","start":0,"end":400}]}`); status != http.StatusBadRequest || out["error"] != "item dm98frag001: the fragment ends at 400s, after the item's end (300s)" {
		t.Errorf("a fragment past the end: %d %v", status, out)
	}
	status, v2, out := s.call(http.MethodPatch, "/api/sets/set-samen", editorToken, v1, `{"items":[{"external_id":"dm03klim001"},{"external_id":"dm98frag001","start":0,"end":30}]}`)
	if status != http.StatusOK {
		t.Fatalf("keeping a fragment of the fragment-only item: %d %v", status, out)
	}
	if status, _, out := s.call(http.MethodPost, "/api/sets/set-samen/publish", editorToken, v2, ""); status != http.StatusOK {
		t.Errorf("publishing licensed items and a fragment of a fragment-only item: %d %v", status, out)
	}

	// Problems list what teachers could not see once the set is published.
	// dm03klim001 is not published, but the set would publish it: only
	// the unlicensed item is a problem.
	set = s.set("set-samen")
	set.Items = append(set.Items, curation.Item{ExternalID: "dm99nolic01"})
	problems, err := s.desk.Problems(f.ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].ExternalID != "dm99nolic01" || !strings.Contains(problems[0].Why, "no education licence") {
		t.Errorf("problems: %+v", problems)
	}
}

// TestKilledWorkerPublishesOnce kills the only worker while a set's
// publication waits for its date: nothing happens while no worker runs,
// and the next worker publishes the set once (one publication in the
// set's log, one hold in each item's).
func TestKilledWorkerPublishesOnce(t *testing.T) {
	f := newFixtureWorker(t, false)
	first := startHelperWorker(t, f.clients.Config)
	oai, _ := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	s := newSetsAPI(t, f)

	_, v, out := s.call(http.MethodPost, "/api/sets", editorToken, "", `{"id":"set-kill","title":"Getimed","items":[{"external_id":"dm04parl001"},{"external_id":"dm05wisk001"}]}`)
	if v == "" {
		t.Fatalf("create: %v", out)
	}
	v = s.step("set-kill", v, "review", "")
	v = s.step("set-kill", v, "approve", "")
	due := time.Now().Add(6 * time.Second)
	s.step("set-kill", v, "publish", `{"publish_at":"`+due.UTC().Format(time.RFC3339)+`"}`)

	// The publication looked at the set and now waits on its timer.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := f.clients.Temporal.QueryWorkflow(f.ctx, workflows.PublicationWorkflowID("set-kill"), "", workflows.StatusQuery)
		var o curation.Outcome
		if err == nil && resp.Get(&o) == nil && o.Wake != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the publication did not start waiting: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	time.Sleep(time.Until(due) + 2*time.Second)
	if set := s.set("set-kill"); set.Status != curation.Approved || s.educationDoc("dm04parl001") != nil {
		t.Fatalf("published without a worker: %s", set.Status)
	}

	startHelperWorker(t, f.clients.Config)
	s.waitFor("set-kill", curation.Published, time.Minute)
	run := f.clients.Temporal.GetWorkflow(f.ctx, workflows.PublicationWorkflowID("set-kill"), "")
	var o curation.Outcome
	if err := run.Get(f.ctx, &o); err != nil || o.Status != curation.Published || o.Pending {
		t.Fatalf("the publication ended with %+v, %v; want the set published and nothing pending", o, err)
	}
	history, err := s.desk.History(f.ctx, "set-kill")
	if err != nil {
		t.Fatal(err)
	}
	published := 0
	for _, e := range history {
		if e.By == "publication" && e.Action == "publish" {
			published++
		}
	}
	if published != 1 {
		t.Errorf("%d publications in the set's log, want 1: %+v", published, history)
	}
	for _, id := range []string{"dm04parl001", "dm05wisk001"} {
		if s.educationDoc(id) == nil {
			t.Errorf("%s is not visible after the publication", id)
		}
		h, err := editorial.History(f.ctx, f.clients.Store, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 || h[0].Action != "hold" {
			t.Errorf("%s's log: %+v, want one hold", id, h)
		}
	}
}

// TestPublishedSetFollowsItsItems: an item of a published set and of a
// teacher's public collection that its partner deletes leaves the set's view
// and both documents' counts, the set is listed with the problem, and the
// collection shows the block as unavailable.
func TestPublishedSetFollowsItsItems(t *testing.T) {
	f := newFixture(t)
	_, bucketSource := f.demoSources(t)
	f.harvest(t, bucketSource, workflows.HarvestOptions{})
	s := newSetsAPI(t, f)

	_, v, out := s.call(http.MethodPost, "/api/sets", editorToken, "", `{"id":"set-volgt","title":"Volgt","items":[{"external_id":"dm21wk0001"},{"external_id":"dm22karre01"},{"external_id":"dm24dieren"}]}`)
	if v == "" {
		t.Fatalf("create: %v", out)
	}
	v = s.step("set-volgt", v, "review", "")
	v = s.step("set-volgt", v, "approve", "")
	s.step("set-volgt", v, "publish", "")
	s.waitFor("set-volgt", curation.Published, 30*time.Second)
	if doc := s.educationDoc("set-volgt"); doc == nil || doc.ItemCount != 3 {
		t.Fatalf("the published set's document: %+v", doc)
	}
	// A teacher's public collection holds two of them.
	teacher := content.Caller{ID: "t1", Name: "Leen Leerkracht", Email: "leen@school.example"}
	pieces := content.NewDesk(f.clients.Store, f.clients.Indices)
	col, ver, err := pieces.Create(f.ctx, content.Piece{Kind: content.Collection, Title: "Volgt ook",
		Blocks: []content.Block{{Type: content.ItemBlock, ExternalID: "dm22karre01"}, {Type: content.ItemBlock, ExternalID: "dm24dieren"}}}, teacher)
	if err != nil {
		t.Fatal(err)
	}
	public := true
	if _, _, err := pieces.Edit(f.ctx, col.ID, ver, content.Edit{Public: &public}, teacher); err != nil {
		t.Fatal(err)
	}
	if doc := s.educationDoc(col.ID); doc == nil || doc.ItemCount != 2 {
		t.Fatalf("the collection's document: %+v", doc)
	}

	if err := f.partner.Delete(f.ctx, "sidecars/dm22karre01.xml"); err != nil {
		t.Fatal(err)
	}
	// One of six is over the mass-delete guard: the operator confirms it.
	res := f.harvest(t, bucketSource, workflows.HarvestOptions{Full: true, AllowMassDelete: true})
	if res.Counts.Swept != 1 {
		t.Fatalf("the harvest after the partner's delete: %+v", res.Counts)
	}
	if doc := s.educationDoc("set-volgt"); doc == nil || doc.ItemCount != 2 {
		t.Errorf("the set's document after its item was deleted: %+v", doc)
	}
	if doc := s.educationDoc(col.ID); doc == nil || doc.ItemCount != 1 {
		t.Errorf("the teacher's collection after its item was deleted: %+v", doc)
	}
	if v, err := pieces.Show(f.ctx, col.ID, teacher); err != nil || v.Blocks[0].Available || v.Blocks[0].Why != "deleted from the archive" || !v.Blocks[1].Available {
		t.Errorf("the teacher's collection as she sees it: %+v %v", v, err)
	}
	var view curation.View
	if resp := testenv.Call(t, http.MethodGet, s.url+"/api/sets/set-volgt", teacherToken, "", &view); resp.StatusCode != http.StatusOK {
		t.Fatalf("a teacher reading the set: %d", resp.StatusCode)
	}
	var ids []string
	for _, it := range view.Items {
		ids = append(ids, it.ExternalID)
	}
	if !slices.Equal(ids, []string{"dm21wk0001", "dm24dieren"}) || view.Unavailable != 1 {
		t.Errorf("the set as teachers see it: %v, %d unavailable", ids, view.Unavailable)
	}
	var listed []map[string]any
	testenv.Call(t, http.MethodGet, s.url+"/api/sets?problems=true", editorToken, "", &listed)
	if len(listed) != 1 || listed[0]["id"] != "set-volgt" || fmt.Sprint(listed[0]["problems"]) != "[map[external_id:dm22karre01 why:not in the catalog (deleted by its partner)]]" {
		t.Errorf("sets with problems: %v", listed)
	}
}
