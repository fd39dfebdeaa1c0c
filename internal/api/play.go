package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

// Presigner hands out short-lived addresses of browse copies in partners'
// buckets (built where the S3 settings of the sources are known).
type Presigner interface {
	Presign(ctx context.Context, m profile.Media, ttl time.Duration) (string, error)
}

// DefaultPlayTTL is how long a browse copy's address lives: long enough
// to start and seek in a lesson's fragment, short enough that a copied
// address soon stops working. The player asks again when it has.
const DefaultPlayTTL = 10 * time.Minute

// Play is what a player gets: where to play the item from, until when.
type Play struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	URL       string    `json:"url"`
	Type      string    `json:"type"`
	ExpiresAt time.Time `json:"expires_at"`
	Start     *float64  `json:"start,omitempty"`
	End       *float64  `json:"end,omitempty"`
	Duration  int       `json:"duration_seconds,omitempty"`
}

// play answers GET /api/items/{id}/play: a presigned URL of the item's
// browse copy, for a signed-in teacher or pupil only (the licence lets
// no one else play it; anonymous access settings do not count here).
func (s *Server) play(w http.ResponseWriter, r *http.Request) {
	u := caller(r)
	scope := search.Teacher
	switch {
	case u == nil:
		s.unauthorized(w, r, &auth.Error{Reason: "playing needs a signed-in teacher or pupil", Missing: true})
		return
	case u.Is(auth.Teacher):
	case u.Is(auth.Pupil):
		scope = search.Pupil
	default:
		s.fail(w, r, errForbidden{"playing is for teachers and pupils; you are " + rolesOf(u)})
		return
	}
	start, end, err := fragment(r.URL.Query())
	if err != nil {
		s.fail(w, r, &search.RequestError{Err: err})
		return
	}
	if err := s.unavailable(); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	id := r.PathValue("id")
	hit, media, err := s.Search.Browse(ctx, id, scope)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if hit.Duration > 0 && start != nil && *start >= float64(hit.Duration) {
		s.fail(w, r, &search.RequestError{Err: fmt.Errorf("the fragment starts at %gs, after the item's end (%ds)", *start, hit.Duration)})
		return
	}
	if media == nil {
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "item " + id + " has no browse copy: its partner keeps no playable file beside its metadata"})
		return
	}
	if s.Browse == nil {
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "this server plays nothing: it has no access to partners' buckets"})
		return
	}
	ttl := s.PlayTTL
	if ttl <= 0 {
		ttl = DefaultPlayTTL
	}
	expires := time.Now().Add(ttl).UTC().Truncate(time.Second)
	addr, err := s.Browse.Presign(ctx, *media, ttl)
	if err != nil {
		s.log().Error("presign a browse copy", "id", id, "source", media.Source, "bucket", media.Bucket, "key", media.Key, "err", err)
		WriteJSON(w, http.StatusBadGateway, map[string]string{"error": "the browse copy of " + id + " cannot be reached now"})
		return
	}
	s.log().Info("play", "id", id, "user", u.ID, "view", scope)
	WriteJSON(w, http.StatusOK, Play{ID: id, Title: hit.Title, URL: addr, Type: media.Type, ExpiresAt: expires,
		Start: start, End: end, Duration: hit.Duration})
}
