package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/curation"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/refused"
)

// Curator keeps editors' curated sets (curation.Desk).
type Curator interface {
	List(ctx context.Context) ([]curation.Set, error)
	Create(ctx context.Context, s curation.Set, by string) (*curation.Set, string, error)
	Edit(ctx context.Context, id, version string, e curation.Edit, by string) (*curation.Set, string, error)
	Take(ctx context.Context, id, version string, st curation.Step, by string) (*curation.Set, string, error)
	Show(ctx context.Context, id string, editor bool) (*curation.View, error)
	History(ctx context.Context, id string) ([]audit.Entry, error)
	Problems(ctx context.Context, s *curation.Set) ([]curation.ItemProblem, error)
}

// setSummary is a set in the editors' list, with the items teachers
// cannot see (when asked for).
type setSummary struct {
	curation.Set
	Problems []curation.ItemProblem `json:"problems,omitempty"`
}

// setEditor returns the signed-in editor of r, or answers and nil.
func (s *Server) setEditor(w http.ResponseWriter, r *http.Request) *auth.User {
	u := caller(r)
	switch {
	case s.Sets == nil:
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "this server keeps no curated sets"})
	case u == nil:
		s.unauthorized(w, r, &auth.Error{Reason: "editors sign in to curate sets", Missing: true})
	case !u.Is(auth.Editor):
		s.fail(w, r, errForbidden{"curated sets are made by editors; you are " + rolesOf(u)})
	default:
		return u
	}
	return nil
}

func (s *Server) listSets(w http.ResponseWriter, r *http.Request) {
	if s.setEditor(w, r) == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	sets, err := s.Sets.List(ctx)
	if err != nil {
		s.setFailed(w, r, err)
		return
	}
	problems, _ := strconv.ParseBool(r.URL.Query().Get("problems"))
	out := []setSummary{}
	for _, set := range sets {
		sum := setSummary{Set: set}
		if problems {
			if sum.Problems, err = s.Sets.Problems(ctx, &set); err != nil {
				s.setFailed(w, r, err)
				return
			}
			if len(sum.Problems) == 0 {
				continue
			}
		}
		out = append(out, sum)
	}
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) createSet(w http.ResponseWriter, r *http.Request) {
	u := s.setEditor(w, r)
	if u == nil {
		return
	}
	var body curation.Set
	if !s.readBody(w, r, &body) {
		return
	}
	set, ver, err := s.Sets.Create(r.Context(), body, decidedBy(u))
	s.answerSet(w, r, http.StatusCreated, set, ver, err)
}

// getSet shows a published set with the items teachers see, in order, to
// teachers; editors see any set, with its version (ETag). Pupils find
// items, not sets.
func (s *Server) getSet(w http.ResponseWriter, r *http.Request) {
	if s.Sets == nil {
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "this server keeps no curated sets"})
		return
	}
	u := caller(r)
	editor := u.Is(auth.Editor)
	if !editor && s.view(r) != auth.Teacher {
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no published set " + r.PathValue("id") + " for pupils"})
		return
	}
	v, err := s.Sets.Show(r.Context(), r.PathValue("id"), editor)
	if err != nil {
		s.setFailed(w, r, err)
		return
	}
	if v.Version != "" {
		w.Header().Set("ETag", v.Version)
	}
	WriteJSON(w, http.StatusOK, v)
}

func (s *Server) editSet(w http.ResponseWriter, r *http.Request) {
	var body curation.Edit
	u, ver, ok := s.setChange(w, r, &body)
	if !ok {
		return
	}
	set, ver, err := s.Sets.Edit(r.Context(), r.PathValue("id"), ver, body, decidedBy(u))
	s.answerSet(w, r, http.StatusOK, set, ver, err)
}

func (s *Server) stepSet(w http.ResponseWriter, r *http.Request) {
	var body curation.Step
	u, ver, ok := s.setChange(w, r, &body)
	if !ok {
		return
	}
	body.Action = r.PathValue("step")
	set, ver, err := s.Sets.Take(r.Context(), r.PathValue("id"), ver, body, decidedBy(u))
	if err == nil {
		s.log().Info("curated set", "set", set.ID, "step", body.Action, "status", set.Status, "by", decidedBy(u))
	}
	s.answerSet(w, r, http.StatusOK, set, ver, err)
}

// setChange reads a change of a set: the signed-in editor, the version it
// was made on and its body; it answers and returns false when one is
// missing.
func (s *Server) setChange(w http.ResponseWriter, r *http.Request, body any) (*auth.User, string, bool) {
	u := s.setEditor(w, r)
	if u == nil {
		return nil, "", false
	}
	ver, ok := s.ifMatch(w, r)
	if !ok || !s.readBody(w, r, body) {
		return nil, "", false
	}
	return u, ver, true
}

func (s *Server) setHistory(w http.ResponseWriter, r *http.Request) {
	if s.setEditor(w, r) == nil {
		return
	}
	h, err := s.Sets.History(r.Context(), r.PathValue("id"))
	if err != nil {
		s.setFailed(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, h)
}

func (s *Server) itemHistory(w http.ResponseWriter, r *http.Request) {
	if s.editor(w, r) == nil {
		return
	}
	if s.ItemHistory == nil {
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "this server keeps no history of decisions"})
		return
	}
	h, err := s.ItemHistory(r.Context(), r.PathValue("id"))
	if err != nil {
		s.setFailed(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, h)
}

// ifMatch reads the version a change was made on: If-Match is required,
// so that no editor overwrites another's change unseen.
func (s *Server) ifMatch(w http.ResponseWriter, r *http.Request) (string, bool) {
	v := r.Header.Get("If-Match")
	if v == "" {
		WriteJSON(w, http.StatusPreconditionRequired, map[string]string{
			"error": "send If-Match with the version you read (the ETag of the GET) so that no change is overwritten unseen"})
		return "", false
	}
	return v, true
}

func (s *Server) answerSet(w http.ResponseWriter, r *http.Request, status int, set *curation.Set, ver string, err error) {
	if err != nil {
		s.setFailed(w, r, err)
		return
	}
	w.Header().Set("ETag", ver)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/sets/"+set.ID)
	}
	WriteJSON(w, status, map[string]any{"set": set, "version": ver})
}

func (s *Server) setFailed(w http.ResponseWriter, r *http.Request, err error) {
	var conflict *curation.Conflict
	switch {
	case errors.As(err, &conflict):
		w.Header().Set("ETag", conflict.Version)
		WriteJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "version": conflict.Version, "set": conflict.Set})
	case errors.Is(err, refused.Err):
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case errors.Is(err, notfound.Err):
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	default:
		s.log().Error("curated sets", "method", r.Method, "path", r.URL.Path, "err", err)
		WriteJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
	}
}

// ItemHistoryFunc reads the change log of an item's decisions
// (editorial.History).
type ItemHistoryFunc func(ctx context.Context, id string) ([]audit.Entry, error)
