package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

// demoContentReport is the collection the demo's teachers make and share.
type demoContentReport struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Steps are who did what, in order.
	Steps []string `json:"steps"`
	// SharedWithMe is what the colleague's overview lists as shared with
	// her; Found what a teacher of another school finds once it is public.
	SharedWithMe []string     `json:"shared_with_me"`
	Found        []search.Hit `json:"found"`
}

// demoContent plays three teachers: Leen makes a collection of two items
// she found and a text, shares it with her colleague Cas, who accepts and
// adds to it; Leen makes it public and Vera, at another school, finds it.
func (a *app) demoContent(ctx context.Context, l *local, base string, rep *demoReport) []string {
	tokens := map[string]string{}
	for _, who := range []string{"teacher", "teacher2", "teacher3"} {
		tok, err := devstack.SignIn(ctx, l.stack.Keycloak.Issuer, who)
		if err != nil {
			return []string{err.Error()}
		}
		tokens[who] = tok
	}
	r := &demoContentReport{}
	rep.Content = r
	var videos search.Response
	if err := getJSON(ctx, base+"/api/search?type=video&size=2", tokens["teacher"], &videos); err != nil {
		return []string{err.Error()}
	}
	if len(videos.Hits) < 2 {
		return []string{fmt.Sprintf("the teacher finds %d videos to put in a collection, want 2", len(videos.Hits))}
	}
	start, end := 0.0, 60.0
	piece := content.Piece{Kind: content.Collection, Title: "Water in de klas", Description: "Twee fragmenten en een opdracht om over de Schelde te praten",
		Education: content.Education{Subjects: []string{"https://w3id.org/onderwijs-vlaanderen/id/vak/aardrijkskunde"}},
		Blocks: []content.Block{
			{Type: content.ItemBlock, ExternalID: videos.Hits[0].ID},
			{Type: content.TextBlock, Text: "Wat weet je al over water in je eigen buurt?"},
			{Type: content.ItemBlock, ExternalID: videos.Hits[1].ID, Start: &start, End: &end},
		}}
	var w struct {
		Piece   content.Piece `json:"piece"`
		Version string        `json:"version"`
	}
	steps := []struct {
		who, say, method, path string
		version                bool
		body                   any
	}{
		{"teacher", "Leen makes it (private)", http.MethodPost, "/api/content", false, piece},
		{"teacher", "Leen invites cas@school.example as CONTRIBUTOR", http.MethodPost, "/contributors", false, content.ShareRequest{Email: "cas@school.example", Right: content.Contributor}},
		{"teacher2", "Cas accepts", http.MethodPost, "/invitation", false, map[string]bool{"accept": true}},
		{"teacher2", "Cas adds a question for the class", http.MethodPatch, "", true, map[string]any{"blocks": append(piece.Blocks, content.Block{Type: content.TextBlock, Text: "Waar komt ons kraantjeswater vandaan?"})}},
		{"teacher", "Leen makes it public", http.MethodPatch, "", true, map[string]bool{"is_public": true}},
	}
	for _, s := range steps {
		path := s.path // the piece's own paths follow its id
		if !strings.HasPrefix(path, "/api/") {
			path = "/api/content/" + w.Piece.ID + s.path
		}
		version := ""
		if s.version {
			version = w.Version
		}
		if err := apiCall(ctx, s.method, base+path, tokens[s.who], version, s.body, &w); err != nil {
			return []string{fmt.Sprintf("%s: %v", s.say, err)}
		}
		r.Steps = append(r.Steps, s.say)
	}
	r.ID, r.Title = w.Piece.ID, w.Piece.Title
	var mine content.Overview
	if err := getJSON(ctx, base+"/api/me/content", tokens["teacher2"], &mine); err != nil {
		return []string{err.Error()}
	}
	for _, s := range mine.SharedWithMe {
		r.SharedWithMe = append(r.SharedWithMe, s.ID)
	}
	var found search.Response
	if err := getJSON(ctx, base+"/api/search?type=collectie&q="+url.QueryEscape("Schelde praten"), tokens["teacher3"], &found); err != nil {
		return []string{err.Error()}
	}
	r.Found = found.Hits
	if !slices.Equal(r.SharedWithMe, []string{r.ID}) {
		return []string{fmt.Sprintf("Cas's overview lists %v as shared with her, want %s", r.SharedWithMe, r.ID)}
	}
	if len(found.Hits) == 0 || found.Hits[0].ID != r.ID || found.Hits[0].Owner != "Leen Leerkracht" {
		return []string{fmt.Sprintf("Vera's search for the public collection found %+v", found.Hits)}
	}
	return nil
}

// apiCall sends body as JSON with a token (and If-Match when version is
// set) and decodes the answer into out.
func apiCall(ctx context.Context, method, u, token, version string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if version != "" {
		req.Header.Set("If-Match", version)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, u, res.Status, raw)
	}
	return json.Unmarshal(raw, out)
}

func printContent(w io.Writer, rep demoReport) {
	r := rep.Content
	if r == nil || r.ID == "" {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "== a teachers' collection: made, shared with a colleague, co-edited, made public, found (/api/content) ==")
	fmt.Fprintf(w, "%s %q\n", r.ID, r.Title)
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintf(w, "Cas's overview, shared with me: %v\n", r.SharedWithMe)
	for _, h := range r.Found {
		fmt.Fprintf(w, "Vera (another school) searches type=collectie: %s %q by %s, %d items, %ds\n", h.ID, h.Title, h.Owner, h.ItemCount, h.Duration)
	}
}
