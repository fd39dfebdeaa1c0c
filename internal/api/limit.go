package api

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound what one caller may ask. A signed-in user is counted as
// themselves wherever they call from; an anonymous caller by address. A
// school's pupils often share one address, so the address limit is the
// larger one.
type Limits struct {
	// UserRate and UserBurst: requests per second (sustained) and at once
	// for one signed-in user (defaults 10 and 30).
	UserRate  float64
	UserBurst int
	// AddressRate and AddressBurst: the same for one client address
	// without a token (defaults 50 and 100).
	AddressRate  float64
	AddressBurst int
	// MaxBody bounds a request's body in bytes (default 64 KiB); the
	// search API reads none, the editor and content APIs small JSON.
	MaxBody int64
}

func (l Limits) withDefaults() Limits {
	if l.UserRate == 0 {
		l.UserRate = 10
	}
	if l.UserBurst == 0 {
		l.UserBurst = 30
	}
	if l.AddressRate == 0 {
		l.AddressRate = 50
	}
	if l.AddressBurst == 0 {
		l.AddressBurst = 100
	}
	if l.MaxBody == 0 {
		l.MaxBody = 64 << 10
	}
	return l
}

// limiters holds one token bucket per caller, forgetting callers idle
// for longer than it takes their bucket to fill (a full bucket is the
// same as a new one), so memory follows the callers of the last minutes.
type limiters struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func (ls *limiters) take(key string, r float64, burst int, now time.Time) (ok bool, retry time.Duration) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.buckets == nil {
		ls.buckets = map[string]*bucket{}
	}
	if now.Sub(ls.swept) > time.Minute {
		idle := time.Duration(float64(burst)/r*float64(time.Second)) + time.Minute
		for k, b := range ls.buckets {
			if now.Sub(b.seen) > idle {
				delete(ls.buckets, k)
			}
		}
		ls.swept = now
	}
	b, found := ls.buckets[key]
	if !found {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(r), burst)}
		ls.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limited answers 429 with Retry-After to a caller over its limit, and
// bounds request bodies.
func (s *Server) limited(next http.Handler) http.Handler {
	l := s.Limits.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, l.MaxBody)
		}
		key, rt, burst := "address "+clientAddress(r), l.AddressRate, l.AddressBurst
		if u := caller(r); u != nil {
			key, rt, burst = "user "+u.Issuer+" "+u.ID, l.UserRate, l.UserBurst
		}
		if ok, retry := s.limits.take(key, rt, burst, time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
			WriteJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many requests: try again in " + retry.Round(100*time.Millisecond).String()})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientAddress is the caller's IP address. Behind a proxy every caller
// shares the proxy's address; the proxy then limits by client itself.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
