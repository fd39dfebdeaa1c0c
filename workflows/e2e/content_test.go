package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// contentAPI is avo serve's API with teachers' content, on the fixture's
// servers, signing people in at the test identity provider.
type contentAPI struct {
	setsAPI
	content *content.Desk
	// tokens by local user role (teacher, teacher2, teacher3, pupil, editor).
	tokens map[string]string
}

func newContentAPI(t *testing.T, f *fixture) *contentAPI {
	a, issuer := signOn(t)
	educ := f.education(t)
	desk := content.NewDesk(f.clients.Store, f.clients.Indices)
	// As avo serve wires it: a decision about an item reaches the pieces holding it.
	items := &editorial.Desk{Store: f.clients.Store, Indices: f.clients.Indices, Changed: func(ctx context.Context, ids []string) error {
		_, err := desk.Refresh(ctx, ids)
		return err
	}}
	srv := httptest.NewServer((&api.Server{Search: educ, Auth: a, Anonymous: api.AnonymousNone, Content: desk, Editorial: items}).Handler())
	t.Cleanup(srv.Close)
	c := &contentAPI{setsAPI: setsAPI{t: t, f: f, url: srv.URL}, content: desk, tokens: map[string]string{}}
	for _, role := range []string{"teacher", "teacher2", "teacher3", "pupil", "editor"} {
		c.tokens[role] = testenv.Token(t, issuer, role)
	}
	return c
}

// as sends a request as a local user; the answer is decoded into out.
func (c *contentAPI) as(who, method, path, version, body string, out any) (int, string) {
	c.t.Helper()
	return c.send(method, path, c.tokens[who], version, body, out)
}

// written is the answer to a change.
type written struct {
	Piece   content.Piece `json:"piece"`
	Version string        `json:"version"`
	Error   string        `json:"error"`
	Warning string        `json:"warning"`
}

// must sends a change that has to succeed and returns the new version.
func (c *contentAPI) must(who, method, path, version, body string, want int) written {
	c.t.Helper()
	var out written
	status, _ := c.as(who, method, path, version, body, &out)
	if status != want || out.Warning != "" {
		c.t.Fatalf("%s %s as %s: %d %+v, want %d", method, path, who, status, out, want)
	}
	return out
}

// find searches as who and returns the hits' ids.
func (c *contentAPI) find(who, query string) ([]string, search.Response) {
	c.t.Helper()
	var res search.Response
	if status, _ := c.as(who, http.MethodGet, "/api/search?"+query, "", "", &res); status != http.StatusOK {
		c.t.Fatalf("search %s as %s: %d", query, who, status)
	}
	ids := []string{}
	for _, h := range res.Hits {
		ids = append(ids, h.ID)
	}
	return ids, res
}

// mine is a teacher's overview.
func (c *contentAPI) mine(who string, problems bool) content.Overview {
	c.t.Helper()
	var o content.Overview
	if status, _ := c.as(who, http.MethodGet, fmt.Sprintf("/api/me/content?problems=%v", problems), "", "", &o); status != http.StatusOK {
		c.t.Fatalf("overview of %s: %d", who, status)
	}
	return o
}

func ids(l []content.Summary) []string {
	out := []string{}
	for _, s := range l {
		out = append(out, s.ID)
	}
	return out
}

// longItem puts an item of 300 seconds into both indices, visible to
// teachers, beside the harvested ones.
func longItem(t *testing.T, f *fixture, id string) {
	t.Helper()
	doc := esindex.Doc{ExternalID: id, AdministrativeType: "video", Title: "Een lange reportage", Licenses: []string{"VIAA-ONDERWIJS"}, DurationSeconds: 300,
		Published: true, SourceID: "test", Provenance: esindex.DocProvenance{Format: "oai_dc", Identifier: id, Raw: "s3://x/y", Harvest: "h", MappingVersion: "1"}}
	b, _ := json.Marshal(doc)
	for _, kind := range []string{esindex.Catalog, esindex.Education} {
		if out, err := f.clients.Indices.Write(f.ctx, kind, []esindex.Op{{ID: id, Doc: b}}); err != nil || len(out.Rejected) > 0 {
			t.Fatalf("write %s: %v %+v", id, err, out)
		}
		if err := f.clients.Indices.Refresh(f.ctx, kind); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTeachersShareCollections follows a collection from private to shared,
// public, co-edited, handed over, hit by a depublication and private
// again, with people signed in at the identity provider: Leen (teacher),
// Cas (teacher2, her colleague), Vera (teacher3, another school), Lotte
// (pupil) and Rik (editor).
func TestTeachersShareCollections(t *testing.T) {
	f := newFixture(t)
	oai, bucketSource := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	f.harvest(t, bucketSource, workflows.HarvestOptions{})
	f.publish(t, "dm01fiets01")
	f.publish(t, "dm22karre01")
	longItem(t, f, "dm97lang001")
	c := newContentAPI(t, f)

	// Made privately: only what teachers can see goes in, fragments
	// within the item.
	const blocks = `[{"type":"item","external_id":"dm01fiets01","title":"Zo fiets je veilig"},
		{"type":"text","text":"Bespreek in groepjes: hoe kom jij naar school?"},
		{"type":"item","external_id":"dm22karre01"},
		{"type":"item","external_id":"dm97lang001","start":10,"end":70}]`
	body := `{"kind":"collectie","title":"Veilig naar school","description":"Over het zebrapad en de fietsstraat",
		"education":{"subjects":["` + geography + `"]},"keywords":["verkeer"],"blocks":` + blocks + `}`
	var refused written
	if status, _ := c.as("teacher", http.MethodPost, "/api/content", "", strings.Replace(body, `"end":70`, `"end":400`, 1), &refused); status != http.StatusBadRequest ||
		refused.Error != "item dm97lang001: the fragment ends at 400s, after the item's end (300s)" {
		t.Errorf("a fragment past the item's end: %d %q", status, refused.Error)
	}
	if status, _ := c.as("teacher", http.MethodPost, "/api/content", "", strings.Replace(body, "dm22karre01", "dm02belg001", 1), &refused); status != http.StatusBadRequest ||
		!strings.Contains(refused.Error, "dm02belg001 is not one teachers can see") {
		t.Errorf("an item teachers cannot see: %d %q", status, refused.Error)
	}
	if status, _ := c.as("pupil", http.MethodPost, "/api/content", "", body, nil); status != http.StatusForbidden {
		t.Errorf("a pupil making a collection: %d", status)
	}
	w := c.must("teacher", http.MethodPost, "/api/content", "", body, http.StatusCreated)
	id, v := w.Piece.ID, w.Version
	if !strings.HasPrefix(id, "col-") || w.Piece.Owner.Name != "Leen Leerkracht" || w.Piece.Public {
		t.Fatalf("created: %+v", w.Piece)
	}
	if got, _ := c.find("teacher3", "q=zebrapad&type=collectie"); len(got) != 0 {
		t.Errorf("a private collection is found: %v", got)
	}
	if c.educationDoc(id) != nil {
		t.Error("a private collection is in the education index")
	}
	if status, _ := c.as("teacher3", http.MethodGet, "/api/content/"+id, "", "", nil); status != http.StatusNotFound {
		t.Errorf("another teacher reading a private collection: %d", status)
	}
	if o := c.mine("teacher", false); !slices.Equal(ids(o.NotShared), []string{id}) || len(o.SharedByMe) != 0 {
		t.Errorf("Leen's overview before sharing: %+v", o)
	}

	// Shared with a colleague as contributor: an invitation she accepts,
	// then she edits it.
	c.must("teacher", http.MethodPost, "/api/content/"+id+"/contributors", "", `{"email":"Cas@school.example","right":"CONTRIBUTOR"}`, http.StatusOK)
	if o := c.mine("teacher2", false); !slices.Equal(ids(o.Invitations), []string{id}) || len(o.SharedWithMe) != 0 {
		t.Errorf("Cas's overview with the invitation: %+v", o)
	}
	if status, _ := c.as("teacher2", http.MethodPatch, "/api/content/"+id, v, `{"title":"x"}`, nil); status != http.StatusForbidden {
		t.Errorf("an invitee editing before accepting: %d", status)
	}
	w = c.must("teacher2", http.MethodPost, "/api/content/"+id+"/invitation", "", `{"accept":true}`, http.StatusOK)
	v = w.Version
	if o := c.mine("teacher2", false); !slices.Equal(ids(o.SharedWithMe), []string{id}) || len(o.Invitations) != 0 || o.SharedWithMe[0].Right != content.Contributor {
		t.Errorf("Cas's overview after accepting: %+v", o)
	}
	if o := c.mine("teacher", false); !slices.Equal(ids(o.SharedByMe), []string{id}) || len(o.NotShared) != 0 {
		t.Errorf("Leen's overview after sharing: %+v", o)
	}
	var view content.View
	status, etag := c.as("teacher2", http.MethodGet, "/api/content/"+id, "", "", &view)
	if status != http.StatusOK || etag != v || view.Right != content.Contributor {
		t.Fatalf("Cas reading it: %d %s %s", status, etag, view.Right)
	}
	if status, _ := c.as("teacher2", http.MethodPatch, "/api/content/"+id, "", `{"title":"Veilig naar school!"}`, nil); status != http.StatusPreconditionRequired {
		t.Errorf("an edit without If-Match: %d", status)
	}
	v = c.must("teacher2", http.MethodPatch, "/api/content/"+id, v, `{"title":"Veilig naar school!"}`, http.StatusOK).Version
	if status, _ := c.as("teacher2", http.MethodPatch, "/api/content/"+id, v, `{"is_public":true}`, nil); status != http.StatusForbidden {
		t.Errorf("a contributor making it public: %d", status)
	}

	// A viewer reads and copies, never edits.
	c.must("teacher", http.MethodPost, "/api/content/"+id+"/contributors", "", `{"email":"vera@andereschool.example","right":"VIEWER"}`, http.StatusOK)
	v = c.must("teacher3", http.MethodPost, "/api/content/"+id+"/invitation", "", `{"accept":true}`, http.StatusOK).Version
	var denied written
	if status, _ := c.as("teacher3", http.MethodPatch, "/api/content/"+id, v, `{"title":"Mijn titel"}`, &denied); status != http.StatusForbidden {
		t.Errorf("a viewer's edit: %d %+v", status, denied)
	}
	cp := c.must("teacher3", http.MethodPost, "/api/content/"+id+"/copy", "", "", http.StatusCreated).Piece
	if cp.CopyOf != id || cp.Owner.Name != "Vera Vakgenoot" || cp.Public || len(cp.Blocks) != 4 || cp.ID == id {
		t.Errorf("the viewer's copy: %+v", cp)
	}

	// Public: another teacher finds it by a word of its description and
	// by its subject facet; pupils never do.
	v = c.must("teacher", http.MethodPatch, "/api/content/"+id, v, `{"is_public":true}`, http.StatusOK).Version
	got, res := c.find("teacher3", "q=zebrapad")
	if !slices.Equal(got, []string{id}) || res.Hits[0].Type != "collectie" || res.Hits[0].Owner != "Leen Leerkracht" || res.Hits[0].ItemCount != 3 || res.Hits[0].Duration != 60 {
		t.Fatalf("search for a word of its description: %v %+v", got, res.Hits)
	}
	got, res = c.find("teacher3", "type=collectie&subject="+url.QueryEscape(geography))
	if !slices.Contains(got, id) {
		t.Errorf("filtered on its subject: %v", got)
	}
	if fb := res.Facets["subject"]; !slices.ContainsFunc(fb, func(b search.Bucket) bool { return b.Value == geography && b.Count >= 1 }) {
		t.Errorf("the subject facet: %+v", fb)
	}
	if got, _ := c.find("pupil", "q=zebrapad"); len(got) != 0 {
		t.Errorf("a pupil's search returns %v", got)
	}
	if got, _ := c.find("pupil", "q=zebrapad&type=collectie"); len(got) != 0 {
		t.Errorf("a pupil asking for collections gets %v", got)
	}
	if status, _ := c.as("pupil", http.MethodGet, "/api/content/"+id, "", "", nil); status != http.StatusNotFound {
		t.Errorf("a pupil opening a public collection: %d", status)
	}
	var other content.View
	if status, etag := c.as("editor", http.MethodGet, "/api/content/"+id, "", "", &other); status != http.StatusOK || etag != "" || len(other.Piece.Shares) != 0 || other.Piece.Owner.Email != "" {
		t.Errorf("another teacher reading the public collection sees who shares it: %d %q %+v", status, etag, other.Piece.Shares)
	}

	// Two co-authors save on one version at the same moment: one wins.
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, who := range []string{"teacher", "teacher2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = c.as(who, http.MethodPatch, "/api/content/"+id, v, fmt.Sprintf(`{"keywords":["verkeer","%s"]}`, who), nil)
		}()
	}
	wg.Wait()
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{http.StatusOK, http.StatusConflict}) {
		t.Fatalf("two saves on one version: %v, want one 200 and one 409", statuses)
	}
	var conflict struct {
		Version string        `json:"version"`
		Piece   content.Piece `json:"piece"`
	}
	if status, _ := c.as("teacher", http.MethodPatch, "/api/content/"+id, v, `{"title":"te laat"}`, &conflict); status != http.StatusConflict || conflict.Version == v || conflict.Piece.Title != "Veilig naar school!" {
		t.Errorf("a stale save: %d %+v", status, conflict)
	}
	v = conflict.Version

	// Handed over: Cas owns it, Leen stays on as a contributor.
	c.must("teacher", http.MethodPost, "/api/content/"+id+"/contributors", v, `{"email":"cas@school.example","right":"OWNER"}`, http.StatusOK)
	p, v, err := c.content.Get(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Owner.Name != "Cas Collega" || p.RightOf(leenID(t, p), "") != content.Contributor {
		t.Fatalf("after the transfer: owner %+v, shares %+v", p.Owner, p.Shares)
	}
	if _, res := c.find("teacher3", "q=zebrapad"); len(res.Hits) != 1 || res.Hits[0].Owner != "Cas Collega" {
		t.Errorf("the search after the transfer: %+v", res.Hits)
	}
	if status, _ := c.as("teacher", http.MethodPatch, "/api/content/"+id, v, `{"is_public":false}`, nil); status != http.StatusForbidden {
		t.Errorf("the former owner making it private: %d", status)
	}

	// An editor depublishes one of its items: the block shows as
	// unavailable and the counts follow, at once.
	if status, _ := c.as("editor", http.MethodPost, "/api/items/dm22karre01/depublish", "", `{"reason":"rechten verlopen"}`, nil); status != http.StatusOK {
		t.Fatalf("depublish: %d", status)
	}
	if doc := c.educationDoc(id); doc == nil || doc.ItemCount != 2 {
		t.Errorf("the collection's document after the depublication: %+v", doc)
	}
	if status, _ := c.as("teacher2", http.MethodGet, "/api/content/"+id, "", "", &view); status != http.StatusOK || view.ItemCount != 2 || view.Unavailable != 1 ||
		view.Blocks[2].Available || view.Blocks[2].Why == "" || !view.Blocks[0].Available || view.Blocks[0].Item == nil {
		t.Errorf("the collection after the depublication: %d %+v", status, view)
	}
	o := c.mine("teacher2", true)
	if len(o.SharedByMe) != 1 || len(o.SharedByMe[0].Problems) != 1 || o.SharedByMe[0].Problems[0].Target != "dm22karre01" || o.SharedByMe[0].Problems[0].Block != 3 {
		t.Errorf("what broke, as the owner lists it: %+v", o)
	}

	// Private again: gone from the search.
	c.must("teacher2", http.MethodPatch, "/api/content/"+id, v, `{"is_public":false}`, http.StatusOK)
	if got, _ := c.find("teacher3", "q=zebrapad"); len(got) != 0 {
		t.Errorf("a collection made private is found: %v", got)
	}
	if c.educationDoc(id) != nil {
		t.Error("a private collection stays in the education index")
	}

	// Every change is in its log.
	var log []audit.Entry
	if status, _ := c.as("teacher", http.MethodGet, "/api/content/"+id+"/history", "", "", &log); status != http.StatusOK {
		t.Fatalf("history: %d", status)
	}
	var actions []string
	for i, e := range log {
		actions = append(actions, e.Action)
		if e.Revision != i+1 || e.By == "" || e.After == "" || i > 0 && e.Before != log[i-1].After {
			t.Errorf("log entry %d: %+v", i, e)
		}
	}
	want := []string{"create", "share", "accept", "edit", "share", "accept", "edit", "edit", "transfer", "edit"}
	if !slices.Equal(actions, want) {
		t.Errorf("the log's actions: %v, want %v", actions, want)
	}
}

// leenID is the first teacher's user id, as the piece names her.
func leenID(t *testing.T, p *content.Piece) string {
	t.Helper()
	for _, s := range p.Shares {
		if s.User != nil && s.User.Name == "Leen Leerkracht" {
			return s.User.ID
		}
	}
	t.Fatalf("Leen is not among %+v", p.Shares)
	return ""
}

// TestAssignmentsForPupils checks what pupils see of assignments: only by
// their link, only while available, never the answers; and a bundle.
func TestAssignmentsForPupils(t *testing.T) {
	f := newFixture(t)
	oai, _ := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	f.publish(t, "dm01fiets01")
	longItem(t, f, "dm97lang001")
	c := newContentAPI(t, f)

	now := time.Now().UTC()
	question := `{"at":30,"kind":"multiple_choice","text":"Welke kleur heeft het licht?","options":["rood","groen"],"answers":["groen"]}`
	body := func(from, until time.Time) string {
		return `{"kind":"opdracht","title":"Kijkopdracht verkeer","instructions":"Bekijk het fragment en beantwoord de vraag.","assignment_kind":"watch",
			"available_at":"` + from.Format(time.RFC3339) + `","deadline_at":"` + until.Format(time.RFC3339) + `",
			"blocks":[{"type":"item","external_id":"dm97lang001","start":10,"end":70,"questions":[` + question + `]}]}`
	}
	var bad written
	if status, _ := c.as("teacher", http.MethodPost, "/api/content", "", strings.Replace(body(now, now.Add(time.Hour)), `"at":30`, `"at":90`, 1), &bad); status != http.StatusBadRequest || !strings.Contains(bad.Error, "outside the fragment") {
		t.Errorf("a question outside its fragment: %d %q", status, bad.Error)
	}
	open := c.must("teacher", http.MethodPost, "/api/content", "", body(now.Add(-time.Minute), now.Add(time.Hour)), http.StatusCreated).Piece
	later := c.must("teacher", http.MethodPost, "/api/content", "", body(now.Add(time.Hour), now.Add(2*time.Hour)), http.StatusCreated).Piece

	var pv content.View
	if status, _ := c.as("pupil", http.MethodGet, "/api/content/"+open.ID, "", "", &pv); status != http.StatusOK {
		t.Fatalf("a pupil opening an available assignment: %d", status)
	}
	if q := pv.Blocks[0].Questions; len(q) != 1 || len(q[0].Answers) != 0 || q[0].Text == "" || len(pv.Piece.Shares) != 0 || pv.Piece.Owner.ID != "" || pv.Version != "" {
		t.Errorf("the pupil's view shows answers or people: %+v", pv)
	}
	if status, _ := c.as("pupil", http.MethodGet, "/api/content/"+later.ID, "", "", nil); status != http.StatusNotFound {
		t.Errorf("a pupil opening an assignment before it is available: %d", status)
	}
	if o := c.mine("teacher", false); len(o.NotShared) != 2 {
		t.Errorf("the teacher's overview: %+v", o)
	}

	// oEmbed: a private piece is 401 (link to it, avo decides who sees it).
	oembed := func(id string) int {
		res, err := http.Get(c.url + "/oembed?url=" + url.QueryEscape(c.url+"/items/"+id))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if status := oembed(later.ID); status != http.StatusUnauthorized {
		t.Errorf("oEmbed of a private assignment: %d, want 401", status)
	}
	if status := oembed("opd-nosuchpiece"); status != http.StatusNotFound {
		t.Errorf("oEmbed of no piece: %d, want 404", status)
	}

	// Public: searchable by teachers with its questions counted.
	c.must("teacher", http.MethodPatch, "/api/content/"+open.ID, "", `{"is_public":true}`, http.StatusPreconditionRequired)
	var cur content.View
	_, v := c.as("teacher", http.MethodGet, "/api/content/"+open.ID, "", "", &cur)
	c.must("teacher", http.MethodPatch, "/api/content/"+open.ID, v, `{"is_public":true}`, http.StatusOK)
	if status := oembed(open.ID); status != http.StatusOK {
		t.Errorf("oEmbed of a public assignment: %d", status)
	}
	doc := c.educationDoc(open.ID)
	if doc == nil || doc.AdministrativeType != "opdracht" || !doc.HasQuestions || doc.QuestionCount != 1 || doc.ItemCount != 1 || doc.DurationSeconds != 60 {
		t.Fatalf("the assignment's document: %+v", doc)
	}

	// A bundle of the public assignment and a private collection: teachers
	// searching see what is public of it.
	coll := c.must("teacher", http.MethodPost, "/api/content", "", `{"kind":"collectie","title":"Fietsen","blocks":[{"type":"item","external_id":"dm01fiets01"}]}`, http.StatusCreated).Piece
	if status, _ := c.as("teacher3", http.MethodPost, "/api/content", "", `{"kind":"bundel","title":"x","blocks":[{"type":"collection","ref":"`+coll.ID+`"}]}`, &bad); status != http.StatusBadRequest {
		t.Errorf("a bundle of another's private collection: %d %+v", status, bad)
	}
	b := c.must("teacher", http.MethodPost, "/api/content", "", `{"kind":"bundel","title":"Verkeersweek","blocks":[{"type":"assignment","ref":"`+open.ID+`"},{"type":"collection","ref":"`+coll.ID+`"}]}`, http.StatusCreated)
	c.must("teacher", http.MethodPatch, "/api/content/"+b.Piece.ID, b.Version, `{"is_public":true}`, http.StatusOK)
	if doc := c.educationDoc(b.Piece.ID); doc == nil || doc.AdministrativeType != "bundel" || doc.ItemCount != 1 || doc.DurationSeconds != 60 {
		t.Fatalf("the bundle's document with one public block: %+v", doc)
	}
	// The collection goes public: the bundle counts it.
	_, v = c.as("teacher", http.MethodGet, "/api/content/"+coll.ID, "", "", &cur)
	c.must("teacher", http.MethodPatch, "/api/content/"+coll.ID, v, `{"is_public":true}`, http.StatusOK)
	if doc := c.educationDoc(b.Piece.ID); doc == nil || doc.ItemCount != 2 {
		t.Errorf("the bundle's document after its collection went public: %+v", doc)
	}
	if got, _ := c.find("teacher3", "type=bundel"); !slices.Equal(got, []string{b.Piece.ID}) {
		t.Errorf("teachers searching bundles: %v", got)
	}
	if got, _ := c.find("pupil", "q=verkeer"); slices.ContainsFunc(got, func(id string) bool { return content.KindOf(id) != "" }) {
		t.Errorf("a pupil's search returns teachers' pieces: %v", got)
	}

	// Deleted by its owner: gone from the search, the bundle follows.
	_, v = c.as("teacher", http.MethodGet, "/api/content/"+coll.ID, "", "", &cur)
	if status, _ := c.as("teacher3", http.MethodDelete, "/api/content/"+coll.ID, v, "", nil); status != http.StatusNotFound {
		t.Errorf("another teacher deleting a collection: %d", status)
	}
	if status, _ := c.as("teacher", http.MethodDelete, "/api/content/"+coll.ID, v, "", nil); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	if c.educationDoc(coll.ID) != nil {
		t.Error("a deleted collection stays in the search")
	}
	if doc := c.educationDoc(b.Piece.ID); doc == nil || doc.ItemCount != 1 {
		t.Errorf("the bundle after its collection was deleted: %+v", doc)
	}
	if o := c.mine("teacher", false); slices.Contains(ids(o.NotShared), coll.ID) {
		t.Errorf("a deleted collection is listed: %+v", o.NotShared)
	}

	// An education rebuild keeps the public pieces and leaves out the private.
	if _, err := f.rebuild(t, esindex.Education, workflows.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{open.ID: true, b.Piece.ID: true, later.ID: false} {
		if got := c.educationDoc(id) != nil; got != want {
			t.Errorf("after a rebuild, %s in the education index: %v, want %v", id, got, want)
		}
	}
}

// TestContentSettlesAfterAnIndexFailure makes a collection public while
// Elasticsearch cannot be reached: the change is kept and said to lag,
// and the next settling (the visibility schedule's) writes its document.
func TestContentSettlesAfterAnIndexFailure(t *testing.T) {
	f := newFixture(t)
	teacher := content.Caller{ID: "t1", Name: "Leen Leerkracht", Email: "leen@school.example"}
	desk := content.NewDesk(f.clients.Store, f.clients.Indices)
	p, ver, err := desk.Create(f.ctx, content.Piece{Kind: content.Collection, Title: "Verkeer",
		Blocks: []content.Block{{Type: content.TextBlock, Text: "Kijk links en rechts."}}}, teacher)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.clients.Config.Elasticsearch
	cfg.URLs = []string{"http://127.0.0.1:9"} // nothing answers there
	es, err := esindex.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	down := content.NewDesk(f.clients.Store, esindex.Indices{ES: es, Prefix: f.clients.Indices.Prefix})
	public := true
	saved, _, err := down.Edit(f.ctx, p.ID, ver, content.Edit{Public: &public}, teacher)
	if err == nil || saved == nil || !saved.Public || !strings.Contains(err.Error(), "is saved, but the search index did not follow yet") {
		t.Fatalf("a change while the index is down: %+v, %v", saved, err)
	}
	docs, err := f.clients.Indices.Docs(f.ctx, esindex.Education, []string{p.ID})
	if err != nil || len(docs) != 0 {
		t.Fatalf("a document was written while the index was down: %v %v", docs, err)
	}
	// Marks under a minute old belong to changes under way: left alone.
	if n, err := desk.Settle(f.ctx); err != nil || n != 0 {
		t.Errorf("settling a fresh mark: %d, %v", n, err)
	}
	later := content.NewDesk(f.clients.Store, f.clients.Indices)
	later.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if n, err := later.Settle(f.ctx); err != nil || n != 1 {
		t.Fatalf("settling: %d, %v", n, err)
	}
	if docs, err := f.clients.Indices.Docs(f.ctx, esindex.Education, []string{p.ID}); err != nil || docs[p.ID].Title != "Verkeer" {
		t.Errorf("the document after settling: %v %v", docs, err)
	}
	if n, err := later.Settle(f.ctx); err != nil || n != 0 {
		t.Errorf("settling again: %d, %v", n, err)
	}
}
