package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

// Decider records editors' decisions about items (editorial.Desk).
type Decider interface {
	Decide(ctx context.Context, id string, d editorial.Decision) (*editorial.ItemState, error)
}

// publishRequest is the body of POST /api/items/{id}/publish (optional).
type publishRequest struct {
	At    string `json:"at"`
	Until string `json:"until"`
}

// depublishRequest is the body of POST /api/items/{id}/depublish.
type depublishRequest struct {
	Reason string `json:"reason"`
}

// editor returns the signed-in editor of r, or answers 401/403 and nil.
func (s *Server) editor(w http.ResponseWriter, r *http.Request) *auth.User {
	u := caller(r)
	switch {
	case s.Editorial == nil:
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "this server takes no editorial decisions"})
	case u == nil:
		s.unauthorized(w, r, &auth.Error{Reason: "editors sign in to publish", Missing: true})
	case !u.Is(auth.Editor):
		s.fail(w, r, errForbidden{"publishing is for editors; you are " + rolesOf(u)})
	default:
		return u
	}
	return nil
}

// decidedBy names the verified editor in the decision's record: the name
// people know, and the id that stays.
func decidedBy(u *auth.User) string {
	if u.Name == "" {
		return u.ID
	}
	return u.Name + " (" + u.ID + ")"
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	u := s.editor(w, r)
	if u == nil {
		return
	}
	var body publishRequest
	if !s.readBody(w, r, &body) {
		return
	}
	d := editorial.Decision{Publish: true, By: decidedBy(u)}
	var err error
	if d.At, err = editorial.ParseWhen(body.At); err != nil {
		err = fmt.Errorf("at %q: %w", body.At, err)
	} else if d.Until, err = editorial.ParseWhen(body.Until); err != nil {
		err = fmt.Errorf("until %q: %w", body.Until, err)
	}
	if err == nil && d.At != nil && d.Until != nil && !d.At.Before(*d.Until) {
		err = fmt.Errorf("at %s is not before until %s: the publish window would be empty", body.At, body.Until)
	}
	if err != nil {
		s.fail(w, r, &search.RequestError{Err: err})
		return
	}
	s.decide(w, r, d)
}

func (s *Server) depublish(w http.ResponseWriter, r *http.Request) {
	u := s.editor(w, r)
	if u == nil {
		return
	}
	var body depublishRequest
	if !s.readBody(w, r, &body) {
		return
	}
	if strings.TrimSpace(body.Reason) == "" {
		s.fail(w, r, &search.RequestError{Err: errors.New("depublish needs a reason")})
		return
	}
	s.decide(w, r, editorial.Decision{Reason: body.Reason, By: decidedBy(u)})
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, d editorial.Decision) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	st, err := s.Editorial.Decide(ctx, r.PathValue("id"), d)
	switch {
	case err == nil:
		s.log().Info("editorial decision", "id", st.ID, "publish", d.Publish, "by", d.By)
		WriteJSON(w, http.StatusOK, st)
	case errors.Is(err, notfound.Err):
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	default:
		s.log().Error("editorial decision failed", "id", r.PathValue("id"), "err", err)
		WriteJSON(w, http.StatusBadGateway, map[string]string{"error": "the decision could not be recorded: " + err.Error()})
	}
}

// readBody decodes an optional JSON body, answering 400 (or 413) when it
// is not one.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, out any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(out)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return true
	case errors.As(err, &tooBig):
		WriteJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("the body is over %d bytes", tooBig.Limit)})
	default:
		s.fail(w, r, &search.RequestError{Err: fmt.Errorf("body: %v", err)})
	}
	return false
}
