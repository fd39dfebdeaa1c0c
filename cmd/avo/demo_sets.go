package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/curation"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

// demoSetReport is the curated set the demo's editor publishes, and what a
// teacher then finds.
type demoSetReport struct {
	Set *curation.Set `json:"set"`
	// Steps are the statuses the set went through.
	Steps []string `json:"steps"`
	// Collections is what the teacher's search for collections found;
	// Items the set's items the teacher sees.
	Collections int `json:"collections"`
	Items       int `json:"items"`
}

// demoSetID is the curated set of the demo.
const demoSetID = "set-water-en-rekenen"

// demoSet plays an editor who makes a curated set of two items (one as a
// fragment, with a subject of the editors' choice), has it reviewed,
// approved and published through the API, and a teacher who finds it.
func (a *app) demoSet(ctx context.Context, l *local, base string, rep *demoReport) []string {
	tok, err := devstack.SignIn(ctx, l.stack.Keycloak.Issuer, auth.Editor)
	if err != nil {
		return []string{err.Error()}
	}
	r := &demoSetReport{}
	rep.Set = r
	var written struct {
		Set     *curation.Set `json:"set"`
		Version string        `json:"version"`
	}
	call := func(method, path, version string, body any) error {
		if err := apiCall(ctx, method, base+path, tok, version, body, &written); err != nil {
			return err
		}
		r.Set = written.Set
		r.Steps = append(r.Steps, string(written.Set.Status))
		return nil
	}
	start, end := 0.0, 90.0
	set := curation.Set{ID: demoSetID, Title: "Water en rekenen", Description: "De Schelde en breuken: een lessenreeks voor de derde graad",
		Items: []curation.Item{
			{ExternalID: "dm06schelde", Overrides: &editorial.Overrides{Subjects: []string{"https://w3id.org/onderwijs-vlaanderen/id/vak/aardrijkskunde"}}},
			{ExternalID: "dm05wisk001", Start: &start, End: &end},
		}}
	if err := call(http.MethodPost, "/api/sets", "", set); err != nil {
		return []string{err.Error()}
	}
	for _, step := range []struct {
		name string
		body map[string]string
	}{{"review", nil}, {"approve", map[string]string{"comment": "klaar voor de klas"}}, {"publish", nil}} {
		if err := call(http.MethodPost, "/api/sets/"+demoSetID+"/"+step.name, written.Version, step.body); err != nil {
			return []string{err.Error()}
		}
	}
	// The publication workflow puts it live; wait for it (bounded).
	desk := l.clients.sets()
	for deadline := time.Now().Add(time.Minute); ; {
		s, _, err := desk.Get(ctx, demoSetID)
		if err != nil {
			return []string{err.Error()}
		}
		if s.Status == curation.Published {
			r.Set = s
			r.Steps = append(r.Steps, string(s.Status))
			break
		}
		if time.Now().After(deadline) {
			return []string{fmt.Sprintf("set %s is still %s a minute after its publication", demoSetID, s.Status)}
		}
		time.Sleep(200 * time.Millisecond)
	}
	teacher, err := devstack.SignIn(ctx, l.stack.Keycloak.Issuer, auth.Teacher)
	if err != nil {
		return []string{err.Error()}
	}
	var found search.Response
	if err := getJSON(ctx, base+"/api/search?type=collectie", teacher, &found); err != nil {
		return []string{err.Error()}
	}
	var view curation.View
	if err := getJSON(ctx, base+"/api/sets/"+demoSetID, teacher, &view); err != nil {
		return []string{err.Error()}
	}
	r.Collections, r.Items = found.Total, len(view.Items)
	if r.Collections != 1 || r.Items != 2 {
		return []string{fmt.Sprintf("the teacher finds %d collections and sees %d items of %s, want 1 and 2", r.Collections, r.Items, demoSetID)}
	}
	return nil
}

func printSet(w io.Writer, rep demoReport) {
	r := rep.Set
	if r == nil || r.Set == nil {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "== a curated set: an editor signs in, makes it, has it reviewed and published (avo sets, /api/sets) ==")
	fmt.Fprintf(w, "%s %q: %v\n", r.Set.ID, r.Set.Title, r.Steps)
	fmt.Fprintf(w, "a signed-in teacher finds %d collection (type=collectie) and sees its %d items\n", r.Collections, r.Items)
}
