package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
)

// demoPlayed is the partner bucket's video embedded on another platform
// and played by a signed-in teacher.
const demoPlayed = "dm21wk0001"

// demoPlayReport says what an embed of the demo video gives.
type demoPlayReport struct {
	Page      string `json:"page"`
	OEmbed    string `json:"oembed_type"`
	Anonymous int    `json:"anonymous_status"`
	Type      string `json:"type"`
	Bytes     int    `json:"bytes"`
	Status    int    `json:"status"`
	Seconds   int    `json:"valid_seconds"`
}

// demoPlay plays a partner platform that embeds a fragment of the demo
// video through oEmbed, and a teacher who signs in to play it: the API
// gives them, and no anonymous viewer, a short-lived address of the
// browse copy beside the partner's sidecar.
func (a *app) demoPlay(ctx context.Context, l *local, base string, rep *demoReport) []string {
	r := &demoPlayReport{Page: base + "/items/" + demoPlayed + "?start=1&end=3"}
	rep.Play = r
	if _, err := demoPublish(ctx, l, base, []string{demoPlayed}); err != nil {
		return []string{err.Error()}
	}
	var embed struct {
		Type string `json:"type"`
		HTML string `json:"html"`
	}
	if err := getJSON(ctx, base+"/oembed?maxwidth=480&url="+url.QueryEscape(r.Page), "", &embed); err != nil {
		return []string{err.Error()}
	}
	r.OEmbed = embed.Type
	play := base + "/api/items/" + demoPlayed + "/play?start=1&end=3"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, play, nil)
	if err != nil {
		return []string{err.Error()}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return []string{err.Error()}
	}
	res.Body.Close()
	r.Anonymous = res.StatusCode
	tok, err := devstack.SignIn(ctx, l.stack.Keycloak.Issuer, auth.Teacher)
	if err != nil {
		return []string{err.Error()}
	}
	var p api.Play
	if err := getJSON(ctx, play, tok, &p); err != nil {
		return []string{err.Error()}
	}
	r.Type, r.Seconds = p.Type, int(time.Until(p.ExpiresAt).Seconds()+0.5)
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return []string{err.Error()}
	}
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		return []string{err.Error()}
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	r.Status, r.Bytes = res.StatusCode, len(b)
	var problems []string
	if r.OEmbed != "video" || r.Anonymous != http.StatusUnauthorized || r.Status != http.StatusOK || r.Type != "video/webm" || r.Bytes == 0 {
		problems = append(problems, fmt.Sprintf("embedding %s: oEmbed type %q, anonymous play %d, the teacher's address %d with %d bytes of %s",
			demoPlayed, r.OEmbed, r.Anonymous, r.Status, r.Bytes, r.Type))
	}
	return problems
}

func printPlay(w io.Writer, rep demoReport) {
	r := rep.Play
	if r == nil {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "== a partner platform embeds a fragment (oEmbed); a teacher signs in to play it ==")
	fmt.Fprintf(w, "page %s (oEmbed type %s)\n", r.Page, r.OEmbed)
	fmt.Fprintf(w, "anonymous GET /api/items/%s/play: %d\n", demoPlayed, r.Anonymous)
	fmt.Fprintf(w, "signed-in teacher: a presigned URL valid %ds: %d, %s, %d bytes of the browse copy beside the partner's sidecar\n", r.Seconds, r.Status, r.Type, r.Bytes)
}
