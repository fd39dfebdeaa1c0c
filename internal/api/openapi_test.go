package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/archiefvooronderwijs/avo/internal/api"
)

// TestOpenAPIDescribesTheAPI checks the served document with an OpenAPI
// validator, that it names exactly the server's operations, and that real
// answers (successes and refusals) match what it says of them.
func TestOpenAPIDescribesTheAPI(t *testing.T) {
	ctx := context.Background()
	srv := accessServer(t, "")
	res, err := http.Get(srv.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Equal(served, api.OpenAPI()) {
		t.Fatalf("GET /api/openapi.json: %d", res.StatusCode)
	}
	doc, err := openapi3.NewLoader().LoadFromData(served)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}

	var documented, served2 []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, r := range (&api.Server{}).Routes() {
		served2 = append(served2, r.Method+" "+r.Path)
	}
	slices.Sort(documented)
	slices.Sort(served2)
	if !slices.Equal(documented, served2) {
		t.Errorf("documented operations %v\nserved operations %v", documented, served2)
	}

	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, token, body string
		status                    int
	}{
		{"GET", "/api/search?q=fiets&scope=teacher&type=video&size=5", teacherToken, "", 200},
		{"GET", "/api/search?scope=nobody", teacherToken, "", 400},
		{"GET", "/api/search?index=catalog", teacherToken, "", 403},
		{"GET", "/api/search", "not-a-token", "", 401},
		{"GET", "/api/facets/type?facet_q=vid", teacherToken, "", 200},
		{"GET", "/api/suggest?prefix=fi", "", "", 200},
		{"GET", "/api/items/nosuchitem", teacherToken, "", 404},
		{"GET", "/api/me", teacherToken, "", 200},
		{"GET", "/api/me", "", "", 200},
		{"GET", "/api/signon", "", "", 404},
		{"GET", "/api/filters", "", "", 200},
		{"POST", "/api/items/x/publish", "", "", 404}, // this server takes no decisions
		{"POST", "/api/items/x/depublish", pupilToken, `{"reason":"r"}`, 404},
		{"GET", "/api/sets", teacherToken, "", 404}, // this server keeps no sets
		{"GET", "/api/sets/set-x", teacherToken, "", 404},
		{"POST", "/api/sets", "", `{"title":"x"}`, 404},
		{"GET", "/api/items/x/history", "", "", 404},
		{"GET", "/healthz", "", "", 200},
		{"GET", "/readyz", "", "", 200},
		{"GET", "/metrics", "", "", 404}, // this server keeps no metrics
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: not in the document: %v", c.method, c.path, err)
			continue
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, res.StatusCode, body, c.status)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
			Body: io.NopCloser(bytes.NewReader(body))}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("%s %s: the answer is not what the document says: %v", c.method, c.path, err)
		}
	}
}
