package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
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
	return limitedServer(t, anonymous, api.Limits{})
}

// limitedServer is accessServer with limits.
func limitedServer(t *testing.T, anonymous string, limits api.Limits) *httptest.Server {
	t.Helper()
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
	return serverWith(t, &api.Server{Auth: a, Anonymous: anonymous, Limits: limits})
}

// serverWith serves the test items with s's access settings.
func serverWith(t *testing.T, s *api.Server) *httptest.Server {
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
	srv := httptest.NewServer((&api.Server{Search: educ, Catalog: cat, Auth: s.Auth, Anonymous: s.Anonymous, Limits: s.Limits, SignOn: s.SignOn, Browse: s.Browse}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// call GETs url with token (none when empty) and returns the status, the
// WWW-Authenticate header and the decoded body.
func call(t *testing.T, url, token string) (int, string, map[string]any) {
	t.Helper()
	var out map[string]any
	res := testenv.Call(t, http.MethodGet, url, token, "", &out)
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

// TestSignOnThroughTheIdentityProvider signs in at a real Keycloak as a
// pupil, a teacher and an editor, and has the realm's keys rotated while
// the server runs.
func TestSignOnThroughTheIdentityProvider(t *testing.T) {
	issuer := testenv.Issuer(t)
	a, err := auth.New(auth.Config{Issuers: []auth.Issuer{{URL: issuer, Audience: devstack.ClientID, RolesClaim: "roles"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := serverWith(t, &api.Server{Auth: a, Anonymous: api.AnonymousNone})
	pupil, teacher, editor := testenv.Token(t, issuer, auth.Pupil), testenv.Token(t, issuer, auth.Teacher), testenv.Token(t, issuer, auth.Editor)

	_, _, teacherView := call(t, srv.URL+"/api/search", teacher)
	_, _, pupilAsTeacher := call(t, srv.URL+"/api/search?scope=teacher", pupil)
	_, _, pupilView := call(t, srv.URL+"/api/search?scope=pupil", teacher)
	if total(t, pupilAsTeacher) != total(t, pupilView) || total(t, teacherView) <= total(t, pupilView) {
		t.Errorf("pupil asking for the teacher scope: %d, pupil view %d, teacher view %d", total(t, pupilAsTeacher), total(t, pupilView), total(t, teacherView))
	}
	if status, _, body := call(t, srv.URL+"/api/search?index=catalog", teacher); status != http.StatusForbidden {
		t.Errorf("teacher on the catalog: %d %v", status, body)
	}
	if status, _, body := call(t, srv.URL+"/api/search?index=catalog", editor); status != http.StatusOK {
		t.Errorf("editor on the catalog: %d %v", status, body)
	}
	_, _, me := call(t, srv.URL+"/api/me", teacher)
	user, _ := me["user"].(map[string]any)
	if user["name"] != "Leen Leerkracht" || user["issuer"] != issuer || fmt.Sprint(user["roles"]) != "[teacher]" {
		t.Errorf("/api/me: %v", me)
	}
	if status, challenge, _ := call(t, srv.URL+"/api/search", teacher[:len(teacher)-4]+"AAAA"); status != http.StatusUnauthorized || !strings.Contains(challenge, "invalid_token") {
		t.Errorf("a token with a broken signature: %d %q", status, challenge)
	}

	// The realm gets a new signing key of higher priority; tokens signed
	// with it pass without a restart, and the old token still does.
	before := kid(t, teacher)
	rotateKeys(t, issuer)
	fresh := testenv.Token(t, issuer, auth.Teacher)
	if kid(t, fresh) == before {
		t.Fatalf("the realm still signs with %s after the rotation", before)
	}
	for name, tok := range map[string]string{"new key": fresh, "old key": teacher} {
		if status, _, body := call(t, srv.URL+"/api/search", tok); status != http.StatusOK {
			t.Errorf("token of the %s: %d %v", name, status, body)
		}
	}
}

// kid reads the key id from a JWT's header.
func kid(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// rotateKeys adds an RSA key of higher priority to the realm through
// Keycloak's admin API, as an administrator rotating keys would.
func rotateKeys(t *testing.T, issuer string) {
	t.Helper()
	base, _, _ := strings.Cut(issuer, "/realms/")
	res, err := http.PostForm(base+"/realms/master/protocol/openid-connect/token", url.Values{
		"grant_type": {"password"}, "client_id": {"admin-cli"},
		"username": {devstack.KeycloakAdmin}, "password": {devstack.KeycloakAdminPassword},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("admin token: %d %v", res.StatusCode, err)
	}
	admin := func(method, path string, body any, out any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+"/admin/realms/"+devstack.Realm+path, rd)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode/100 != 2 {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		if out != nil {
			if err := json.NewDecoder(res.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var realm struct {
		ID string `json:"id"`
	}
	admin(http.MethodGet, "", nil, &realm)
	admin(http.MethodPost, "/components", map[string]any{
		"name": "rotated", "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider", "parentId": realm.ID,
		"config": map[string][]string{"priority": {"500"}, "enabled": {"true"}, "active": {"true"}, "algorithm": {"RS256"}, "keySize": {"2048"}},
	}, nil)
}

func TestRateLimitsPerUserAndPerAddress(t *testing.T) {
	srv := limitedServer(t, "", api.Limits{UserRate: 0.5, UserBurst: 3, AddressRate: 0.5, AddressBurst: 5})
	statuses := func(token string, n int) (ok, limited int, retry string) {
		for range n {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/suggest?prefix=f", nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			switch res.StatusCode {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				limited++
				retry = res.Header.Get("Retry-After")
			default:
				t.Fatalf("status %d", res.StatusCode)
			}
		}
		return ok, limited, retry
	}
	// A burst of 8 anonymous requests: the address's 5 pass.
	if ok, limited, retry := statuses("", 8); ok != 5 || limited != 3 || retry != "2" {
		t.Errorf("anonymous: %d passed, %d limited, Retry-After %q; want 5, 3, 2", ok, limited, retry)
	}
	// A signed-in user from the same address has a limit of their own.
	if ok, limited, _ := statuses(teacherToken, 5); ok != 3 || limited != 2 {
		t.Errorf("teacher: %d passed, %d limited; want 3, 2", ok, limited)
	}
	// And so has another user.
	if ok, limited, _ := statuses(editorToken, 3); ok != 3 || limited != 0 {
		t.Errorf("editor: %d passed, %d limited; want 3, 0", ok, limited)
	}
}

// TestSignInOnThePageInChromium signs in on the search page through
// Keycloak's login form (the code flow with PKCE), as a pupil and as a
// teacher, each in a browser of their own, and sees each one's view.
func TestSignInOnThePageInChromium(t *testing.T) {
	issuer := testenv.Issuer(t)
	a, err := auth.New(auth.Config{Issuers: []auth.Issuer{{URL: issuer, Audience: devstack.ClientID, RolesClaim: "roles"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := serverWith(t, &api.Server{Auth: a, Anonymous: api.AnonymousNone, SignOn: &api.SignOn{Issuer: issuer, ClientID: devstack.ClientID}})
	totals := map[string]int{}
	for _, role := range []string{auth.Teacher, auth.Pupil} {
		_, _, body := call(t, srv.URL+"/api/search?scope=teacher", testenv.Token(t, issuer, role))
		totals[role] = total(t, body)
	}
	if totals[auth.Pupil] >= totals[auth.Teacher] {
		t.Fatalf("test items: the pupil sees %d, the teacher %d", totals[auth.Pupil], totals[auth.Teacher])
	}
	for _, role := range []string{auth.Pupil, auth.Teacher} {
		t.Run(role, func(t *testing.T) {
			ctx := testenv.Browser(t, 90*time.Second)
			user := devstack.LocalUsers[role]
			var who, status, scope string
			err := chromedp.Do(ctx,
				chromedp.Navigate(srv.URL+"/?scope=teacher"),
				chromedp.WaitVisible(chromedp.CSS(`#signin`)),
				// Without a token this server answers nothing: the page says so.
				testenv.Until(`document.getElementById('status').textContent === 'Meld je aan om te zoeken.'`),
				chromedp.Click(chromedp.CSS(`#signin`)),
				chromedp.WaitVisible(chromedp.CSS(`#username`)),
				chromedp.SendKeys(chromedp.CSS(`#username`), user[0]),
				chromedp.SendKeys(chromedp.CSS(`#password`), user[1]),
				chromedp.Click(chromedp.CSS(`#kc-login`)),
				testenv.Until(`document.getElementById('who')?.dataset.view === '`+role+`'`),
				testenv.Until(`document.getElementById('status')?.dataset.total === '`+strconv.Itoa(totals[role])+`'`),
				testenv.Into(&who, chromedp.Evaluate[string](`document.getElementById('who').textContent`)),
				testenv.Into(&status, chromedp.Evaluate[string](`location.search`)),
				testenv.Into(&scope, chromedp.Evaluate[string](`document.getElementById('scope').value`)),
			)
			if err != nil {
				var page string
				_ = chromedp.Do(ctx, testenv.Into(&page, chromedp.Evaluate[string](`location.href + " | status=" + document.getElementById("status").textContent + " | signin hidden=" + document.getElementById("signin").hidden + " | storage=" + Object.keys(sessionStorage).join(",") + " | error=" + document.getElementById("account").dataset.error`)))
				t.Fatalf("sign in as %s: %v; the tab shows %s", user[0], err, page)
			}
			wantScope := map[string]string{auth.Pupil: "pupil", auth.Teacher: "teacher"}[role]
			if who == "" || scope != wantScope || strings.Contains(status, "code=") {
				t.Errorf("signed in as %s: shown as %q, scope %q, address %q", user[0], who, scope, status)
			}
		})
	}
}

// presignedAt answers addresses on a made-up host: the handler's rules
// are what is tested here (the real presigning is in workflows/e2e).
type presignedAt string

func (p presignedAt) Presign(_ context.Context, m profile.Media, ttl time.Duration) (string, error) {
	return string(p) + m.Bucket + "/" + m.Key + "?ttl=" + ttl.String(), nil
}

// Playing needs a signed-in teacher or pupil whatever anonymous callers
// may search; the answer is the presigner's address, never cached.
func TestPlayIsForSignedInTeachersAndPupils(t *testing.T) {
	a, err := auth.New(auth.Config{Static: []auth.StaticToken{
		{Token: pupilToken, User: "p1", Roles: []string{auth.Pupil}},
		{Token: teacherToken, User: "t1", Roles: []string{auth.Teacher}},
		{Token: editorToken, User: "e1", Roles: []string{auth.Editor}},
		{Token: noRoleToken, User: "n1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := serverWith(t, &api.Server{Auth: a, Anonymous: auth.Teacher, Browse: presignedAt("https://s3.example/")})
	for _, c := range []struct {
		name, token, path string
		want              int
	}{
		{"anonymous, though anonymous callers search as teachers", "", "/api/items/fiets1/play", http.StatusUnauthorized},
		{"signed in without a role", noRoleToken, "/api/items/fiets1/play", http.StatusForbidden},
		{"a teacher", teacherToken, "/api/items/fiets1/play?start=5&end=20", http.StatusOK},
		{"a pupil", pupilToken, "/api/items/fiets1/play", http.StatusOK},
		{"an editor previews", editorToken, "/api/items/fiets1/play", http.StatusOK},
		{"no browse copy", teacherToken, "/api/items/belgie1/play", http.StatusNotFound},
		{"no such item", teacherToken, "/api/items/nosuchitem/play", http.StatusNotFound},
		{"a fragment past the end", teacherToken, "/api/items/fiets1/play?start=99999", http.StatusBadRequest},
		{"a fragment that ends first", teacherToken, "/api/items/fiets1/play?start=20&end=5", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p api.Play
			res := testenv.Call(t, http.MethodGet, srv.URL+c.path, c.token, "", &p)
			if res.StatusCode != c.want {
				t.Fatalf("%d, want %d", res.StatusCode, c.want)
			}
			if c.want == http.StatusOK && (p.URL != "https://s3.example/vrt-archief/karrewiet/fiets1.webm?ttl=10m0s" || p.Type != "video/webm" ||
				p.Title != "De fiets van opa" || res.Header.Get("Cache-Control") != "no-store") {
				t.Errorf("%+v (Cache-Control %q)", p, res.Header.Get("Cache-Control"))
			}
		})
	}
	var p api.Play
	testenv.Call(t, http.MethodGet, srv.URL+"/api/items/fiets1/play?start=5&end=20", teacherToken, "", &p)
	if p.Start == nil || *p.Start != 5 || p.End == nil || *p.End != 20 {
		t.Errorf("the fragment is not passed back: %+v", p)
	}
	without := serverWith(t, &api.Server{Auth: a})
	if res := testenv.Call(t, http.MethodGet, without.URL+"/api/items/fiets1/play", teacherToken, "", nil); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a server without access to partners' buckets: %d", res.StatusCode)
	}
}
