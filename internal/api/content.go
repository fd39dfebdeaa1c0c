package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/refused"
)

// Library keeps teachers' collections, bundles and assignments
// (content.Desk).
type Library interface {
	Get(ctx context.Context, id string) (*content.Piece, string, error)
	Create(ctx context.Context, p content.Piece, c content.Caller) (*content.Piece, string, error)
	Edit(ctx context.Context, id, version string, e content.Edit, c content.Caller) (*content.Piece, string, error)
	Share(ctx context.Context, id, version string, r content.ShareRequest, c content.Caller) (*content.Piece, string, error)
	Unshare(ctx context.Context, id, version, email string, c content.Caller) (*content.Piece, string, error)
	Answer(ctx context.Context, id string, accept bool, c content.Caller) (*content.Piece, string, error)
	Copy(ctx context.Context, id string, c content.Caller) (*content.Piece, string, error)
	Delete(ctx context.Context, id, version string, c content.Caller) error
	Show(ctx context.Context, id string, c content.Caller) (*content.View, error)
	Mine(ctx context.Context, c content.Caller, problems bool) (*content.Overview, error)
	History(ctx context.Context, id string, c content.Caller) ([]audit.Entry, error)
}

// contentCaller returns the signed-in teacher (or, where allowed, pupil)
// of r, or answers 401/403/404 and false.
func (s *Server) contentCaller(w http.ResponseWriter, r *http.Request, pupils bool) (content.Caller, bool) {
	u := caller(r)
	switch {
	case s.Content == nil:
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "this server keeps no teachers' collections"})
	case u == nil:
		s.unauthorized(w, r, &auth.Error{Reason: "sign in to use collections and assignments", Missing: true})
	case u.Is(auth.Teacher):
		return content.Caller{ID: u.ID, Name: u.Name, Email: u.Email}, true
	case u.Is(auth.Pupil) && pupils:
		return content.Caller{ID: u.ID, Name: u.Name, Email: u.Email, Pupil: true}, true
	default:
		s.fail(w, r, errForbidden{"collections and assignments are teachers' work; you are " + rolesOf(u)})
	}
	return content.Caller{}, false
}

func (s *Server) myContent(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, false)
	if !ok {
		return
	}
	problems, _ := strconv.ParseBool(r.URL.Query().Get("problems"))
	o, err := s.Content.Mine(r.Context(), c, problems)
	if err != nil {
		s.contentFailed(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, o)
}

func (s *Server) createContent(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, false)
	if !ok {
		return
	}
	var body content.Piece
	if !s.readBody(w, r, &body) {
		return
	}
	p, ver, err := s.Content.Create(r.Context(), body, c)
	s.answerPiece(w, r, http.StatusCreated, p, ver, err)
}

// getContent shows a piece: to its members with its version (ETag), to
// other teachers when it is public, to pupils an assignment by its link
// while it is available.
func (s *Server) getContent(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, true)
	if !ok {
		return
	}
	v, err := s.Content.Show(r.Context(), r.PathValue("id"), c)
	if err != nil {
		s.contentFailed(w, r, err)
		return
	}
	if v.Version != "" {
		w.Header().Set("ETag", v.Version)
	}
	WriteJSON(w, http.StatusOK, v)
}

func (s *Server) editContent(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, false)
	if !ok {
		return
	}
	ver, ok := s.ifMatch(w, r)
	var body content.Edit
	if !ok || !s.readBody(w, r, &body) {
		return
	}
	p, ver, err := s.Content.Edit(r.Context(), r.PathValue("id"), ver, body, c)
	s.answerPiece(w, r, http.StatusOK, p, ver, err)
}

func (s *Server) deleteContent(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, false)
	if !ok {
		return
	}
	ver, ok := s.ifMatch(w, r)
	if !ok {
		return
	}
	if err := s.Content.Delete(r.Context(), r.PathValue("id"), ver, c); err != nil {
		s.contentFailed(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// shareContent invites an address or changes its right (If-Match is
// optional: sharing is made on the newest version).
func (s *Server) shareContent(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, false)
	if !ok {
		return
	}
	var body content.ShareRequest
	if !s.readBody(w, r, &body) {
		return
	}
	p, ver, err := s.Content.Share(r.Context(), r.PathValue("id"), r.Header.Get("If-Match"), body, c)
	s.answerPiece(w, r, http.StatusOK, p, ver, err)
}

func (s *Server) unshareContent(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, false)
	if !ok {
		return
	}
	p, ver, err := s.Content.Unshare(r.Context(), r.PathValue("id"), r.Header.Get("If-Match"), r.PathValue("email"), c)
	s.answerPiece(w, r, http.StatusOK, p, ver, err)
}

// invitationAnswer is the body of POST /api/content/{id}/invitation.
type invitationAnswer struct {
	Accept *bool `json:"accept"`
}

func (s *Server) answerInvitation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, false)
	if !ok {
		return
	}
	var body invitationAnswer
	if !s.readBody(w, r, &body) {
		return
	}
	if body.Accept == nil {
		s.contentFailed(w, r, refused.Errorf(`say {"accept": true} or {"accept": false}`))
		return
	}
	p, ver, err := s.Content.Answer(r.Context(), r.PathValue("id"), *body.Accept, c)
	if err == nil && !*body.Accept {
		WriteJSON(w, http.StatusOK, map[string]any{"refused": p.ID})
		return
	}
	s.answerPiece(w, r, http.StatusOK, p, ver, err)
}

func (s *Server) copyContent(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, false)
	if !ok {
		return
	}
	p, ver, err := s.Content.Copy(r.Context(), r.PathValue("id"), c)
	s.answerPiece(w, r, http.StatusCreated, p, ver, err)
}

func (s *Server) contentHistory(w http.ResponseWriter, r *http.Request) {
	c, ok := s.contentCaller(w, r, false)
	if !ok {
		return
	}
	h, err := s.Content.History(r.Context(), r.PathValue("id"), c)
	if err != nil {
		s.contentFailed(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, h)
}

func (s *Server) answerPiece(w http.ResponseWriter, r *http.Request, status int, p *content.Piece, ver string, err error) {
	if err != nil && p == nil {
		s.contentFailed(w, r, err)
		return
	}
	w.Header().Set("ETag", ver)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/content/"+p.ID)
	}
	out := map[string]any{"piece": p, "version": ver}
	if err != nil {
		// Saved, but the search index did not follow: the change stands.
		s.log().Error("teachers' content: index", "id", p.ID, "err", err)
		out["warning"] = err.Error()
	}
	WriteJSON(w, status, out)
}

func (s *Server) contentFailed(w http.ResponseWriter, r *http.Request, err error) {
	var conflict *content.Conflict
	switch {
	case errors.As(err, &conflict):
		w.Header().Set("ETag", conflict.Version)
		WriteJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "version": conflict.Version, "piece": conflict.Piece})
	case errors.Is(err, refused.Err):
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case content.IsForbidden(err):
		WriteJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
	case errors.Is(err, notfound.Err):
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	default:
		s.log().Error("teachers' content", "method", r.Method, "path", r.URL.Path, "err", err)
		WriteJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
	}
}
