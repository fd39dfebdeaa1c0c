package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

// Anonymous callers (no token) get what Server.Anonymous says:
//
//   - "pupil" (the default): the pupil view of the education index, the
//     narrowest one (video and audio, few filters): what an embed or a
//     partner's link shows to anyone;
//   - "teacher": the teacher view (a closed network, local use);
//   - "none": nothing but the page and /healthz: every API call needs a token.
const AnonymousNone = "none"

type userKey struct{}

// authenticate reads the caller's token. A token that does not pass is a
// 401 with the reason in WWW-Authenticate (RFC 6750), never a silent
// fall back to anonymous.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		u, err := s.Auth.FromRequest(r)
		if err != nil {
			s.unauthorized(w, r, err)
			return
		}
		if u != nil {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	var ae *auth.Error
	if !errors.As(err, &ae) {
		// The provider could not be asked (discovery, keys): not the
		// caller's fault.
		s.log().Error("token check failed", "path", r.URL.Path, "err", err)
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "sign-on is unavailable: " + err.Error()})
		return
	}
	w.Header().Set("WWW-Authenticate", ae.Challenge())
	WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized: " + ae.Reason})
}

// caller is the verified user of r, nil for an anonymous one.
func caller(r *http.Request) *auth.User {
	u, _ := r.Context().Value(userKey{}).(*auth.User)
	return u
}

// view is the role r's caller searches as: pupil or teacher, or "" when
// the caller may not search at all.
func (s *Server) view(r *http.Request) string {
	u := caller(r)
	switch {
	case u.Is(auth.Teacher):
		return auth.Teacher
	case u.Is(auth.Pupil):
		return auth.Pupil
	}
	switch s.Anonymous {
	case "", auth.Pupil:
		return auth.Pupil
	case auth.Teacher:
		return auth.Teacher
	}
	return ""
}

// errForbidden is a caller who is known but may not do this.
type errForbidden struct{ msg string }

func (e errForbidden) Error() string { return e.msg }

// access decides what a search request of r may see: the index (the
// catalog only for editors) and the scope (pupils get the pupil scope
// whatever they ask). It removes the index parameter from q.
func (s *Server) access(w http.ResponseWriter, r *http.Request, q url.Values) (*search.Searcher, string, bool) {
	role := s.view(r)
	if role == "" {
		s.unauthorized(w, r, &auth.Error{Reason: "this API needs a bearer token", Missing: true})
		return nil, "", false
	}
	index := q.Get("index")
	q.Del("index")
	switch index {
	case "", esindex.Education:
		return s.Search, role, true
	case esindex.Catalog:
		if s.Catalog == nil {
			s.fail(w, r, &search.RequestError{Err: errors.New("index catalog is not served here")})
			return nil, "", false
		}
		if u := caller(r); !u.Is(auth.Editor) {
			if u == nil {
				s.unauthorized(w, r, &auth.Error{Reason: "the catalog is for editors: sign in", Missing: true})
			} else {
				s.fail(w, r, errForbidden{"the catalog is for editors; you are " + rolesOf(u)})
			}
			return nil, "", false
		}
		return s.Catalog, role, true
	}
	s.fail(w, r, &search.RequestError{Err: errors.New("index: want education or catalog")})
	return nil, "", false
}

// scoped applies the caller's view to a parsed request.
func scoped(req search.Request, role string) search.Request {
	if role == auth.Pupil {
		req.Scope = search.Pupil
	}
	return req
}

func rolesOf(u *auth.User) string {
	if len(u.Roles) == 0 {
		return "signed in without a role"
	}
	out := ""
	for i, r := range u.Roles {
		if i > 0 {
			out += ", "
		}
		out += r
	}
	return out
}

// SignOn is the identity provider and public client the search page signs
// in with (the authorization code flow with PKCE).
type SignOn struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
}

func (s *Server) signOn(w http.ResponseWriter, r *http.Request) {
	if s.SignOn == nil {
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "this server signs no one in"})
		return
	}
	WriteJSON(w, http.StatusOK, s.SignOn)
}

// me tells the caller who the server takes them for.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	u := caller(r)
	view := s.view(r)
	if u == nil {
		WriteJSON(w, http.StatusOK, map[string]any{"signed_in": false, "view": view})
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"signed_in": true, "user": u, "view": view})
}
