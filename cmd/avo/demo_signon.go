package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

// signedInSearch is one person's search through the API after signing in
// at the identity provider.
type signedInSearch struct {
	User  auth.User `json:"user"`
	Asked string    `json:"asked_scope"`
	View  string    `json:"view"`
	Total int       `json:"total"`
}

// demoServe runs avo serve's API on the local stack, as configured for
// its identity provider, and returns its address and how to stop it.
func (a *app) demoServe(l *local) (string, func(), error) {
	authn, err := auth.New(l.cfg.Serve.Auth)
	if err != nil {
		return "", nil, err
	}
	educ, err := search.NewSearcher(l.clients.Indices.ES, l.clients.Indices.Alias(esindex.Education))
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	base := "http://" + ln.Addr().String()
	s := &api.Server{Search: educ, Auth: authn, Anonymous: api.AnonymousNone, Editorial: l.clients.desk(), Sets: l.clients.sets(), Content: l.clients.content(),
		Browse: l.clients.browseCopies(), OAI: l.clients.oaiProvider(base), Logger: a.log}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return base, func() { _ = srv.Close() }, nil
}

// demoPublish signs the editor in and publishes ids through the API.
func demoPublish(ctx context.Context, l *local, base string, ids []string) ([]*editorial.ItemState, error) {
	tok, err := devstack.SignIn(ctx, l.stack.Keycloak.Issuer, auth.Editor)
	if err != nil {
		return nil, err
	}
	var out []*editorial.ItemState
	for _, id := range ids {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/items/"+id+"/publish", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("publish %s: %s: %s", id, res.Status, b)
		}
		var st editorial.ItemState
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, err
		}
		out = append(out, &st)
	}
	return out, nil
}

// demoSignOn signs a teacher and a pupil in at the local identity
// provider and has both search the education index through avo serve's
// API, the pupil asking for the teacher's scope. It returns what went wrong.
func (a *app) demoSignOn(ctx context.Context, l *local, base string, rep *demoReport) []string {
	var problems []string
	for _, role := range []string{auth.Teacher, auth.Pupil} {
		tok, err := devstack.SignIn(ctx, l.stack.Keycloak.Issuer, role)
		if err != nil {
			return append(problems, err.Error())
		}
		var me struct {
			User auth.User `json:"user"`
			View string    `json:"view"`
		}
		var res search.Response
		if err := getJSON(ctx, base+"/api/me", tok, &me); err != nil {
			return append(problems, err.Error())
		}
		if err := getJSON(ctx, base+"/api/search?scope=teacher", tok, &res); err != nil {
			return append(problems, err.Error())
		}
		rep.SignedIn = append(rep.SignedIn, signedInSearch{User: me.User, Asked: search.Teacher, View: me.View, Total: res.Total})
	}
	t, p := rep.SignedIn[0], rep.SignedIn[1]
	if t.View != auth.Teacher || p.View != auth.Pupil || p.Total >= t.Total {
		problems = append(problems, fmt.Sprintf("signed in, the teacher (%s view) finds %d and the pupil (%s view) %d: want fewer for the pupil", t.View, t.Total, p.View, p.Total))
	}
	return problems
}

// getJSON GETs url with a bearer token (none when empty) and decodes a 200's body into out.
func getJSON(ctx context.Context, url, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return errors.New("GET " + url + ": " + res.Status + ": " + string(b))
	}
	return json.Unmarshal(b, out)
}

func printSignOn(w io.Writer, rep demoReport) {
	if len(rep.SignedIn) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "== signed in at the identity provider, searching through avo serve (asking for the teacher scope) ==")
	for _, s := range rep.SignedIn {
		fmt.Fprintf(w, "%-16s %-8s sees the %s view: %d items\n", s.User.Name, "("+s.User.Roles[0]+")", s.View, s.Total)
	}
}
