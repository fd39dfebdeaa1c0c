package e2e

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// playerServer serves the API with the test identity provider and the
// browse copies of the demo bucket's source.
func playerServer(t *testing.T, f *fixture, src sources.Source) (*httptest.Server, *sources.Copies, string) {
	t.Helper()
	a, issuer := signOn(t)
	educ := f.education(t)
	copies := &sources.Copies{S3: f.clients.Config.S3, Load: func() (*sources.File, error) {
		return &sources.File{Sources: []sources.Source{src}}, nil
	}}
	srv := httptest.NewServer((&api.Server{Search: educ, Auth: a, Anonymous: api.AnonymousNone, Browse: copies,
		SignOn: &api.SignOn{Issuer: issuer, ClientID: devstack.ClientID}}).Handler())
	t.Cleanup(srv.Close)
	return srv, copies, issuer
}

// TestBrowseCopyPlaysForSignedInUsers: the demo bucket's video, harvested
// with the WebM beside its sidecar, plays in Chromium for a teacher who
// signs in on its page, from a short-lived presigned URL, within the
// fragment the page names; anyone else sees its metadata and a sign-in
// link, and the API gives them no address.
func TestBrowseCopyPlaysForSignedInUsers(t *testing.T) {
	f := newFixture(t)
	_, src := f.demoSources(t)
	f.harvest(t, src, workflows.HarvestOptions{})
	f.publish(t, "dm21wk0001")
	f.publish(t, "dm22karre01")
	srv, copies, issuer := playerServer(t, f, src)
	webm, err := os.ReadFile(filepath.Join(moduleRoot(t), "internal/demo/data/bucket/sidecars/dm21wk0001.webm"))
	if err != nil {
		t.Fatal(err)
	}

	// The API: a presigned URL for teachers and pupils, nothing for others.
	playURL := srv.URL + "/api/items/dm21wk0001/play?start=1&end=3"
	var refused map[string]string
	if res := testenv.Call(t, http.MethodGet, playURL, "", "", &refused); res.StatusCode != http.StatusUnauthorized ||
		!strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(refused["error"], "signed-in teacher or pupil") {
		t.Errorf("anonymous play: %d %q %v", res.StatusCode, res.Header.Get("WWW-Authenticate"), refused)
	}
	var play api.Play
	for _, role := range []string{"teacher", "pupil"} {
		play = api.Play{}
		res := testenv.Call(t, http.MethodGet, playURL, testenv.Token(t, issuer, role), "", &play)
		if res.StatusCode != http.StatusOK || play.Type != "video/webm" || play.Start == nil || *play.Start != 1 || play.End == nil || *play.End != 3 ||
			!strings.HasPrefix(play.URL, f.clients.Config.S3.Endpoint) || !strings.Contains(play.URL, "X-Amz-Signature=") ||
			play.ExpiresAt.Before(time.Now().Add(5*time.Minute)) || play.ExpiresAt.After(time.Now().Add(11*time.Minute)) ||
			res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("play as %s: %d %+v", role, res.StatusCode, play)
		}
	}
	res, err := http.Get(play.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "video/webm" || !bytes.Equal(got, webm) {
		t.Errorf("the presigned URL: %d %s, %d bytes (want the %d of the browse copy)", res.StatusCode, res.Header.Get("Content-Type"), len(got), len(webm))
	}
	var missing map[string]string
	if res := testenv.Call(t, http.MethodGet, srv.URL+"/api/items/dm22karre01/play", testenv.Token(t, issuer, "teacher"), "", &missing); res.StatusCode != http.StatusNotFound ||
		!strings.Contains(missing["error"], "no browse copy") {
		t.Errorf("an item without a browse copy: %d %v", res.StatusCode, missing)
	}
	// An address stops working when its time is up.
	short, err := copies.Presign(f.ctx, mediaOf(t, f, "dm21wk0001"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if res, err := http.Get(short); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("an expired address: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	// The page, in Chromium: nothing plays before signing in; then the
	// fragment plays from its start and stops at its end.
	ctx := testenv.Browser(t, 2*time.Minute)
	user := devstack.LocalUsers["teacher"]
	var before, at float64
	var width int
	var started bool
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/items/dm21wk0001?start=1&end=3"),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		testenv.Until(`document.getElementById('video').hidden && !document.getElementById('video').getAttribute('src')`),
		chromedp.Click(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), user[0]),
		chromedp.SendKeys(chromedp.CSS(`#password`), user[1]),
		chromedp.Click(chromedp.CSS(`#kc-login`)),
		testenv.Until(`!document.getElementById('video').hidden && document.getElementById('video').src.includes('X-Amz-Signature=')`),
		testenv.Until(`document.getElementById('signin-box').hidden && document.getElementById('video').readyState >= 1`),
		testenv.Into(&before, chromedp.Evaluate[float64](`document.getElementById('video').currentTime`)),
		testenv.Into(&started, chromedp.Evaluate[bool](`(() => { const v = document.getElementById('video'); v.muted = true; v.play(); return true; })()`)),
		testenv.Until(`document.getElementById('video').currentTime > 1.5 && document.getElementById('video').videoWidth > 0`),
		testenv.Into(&width, chromedp.Evaluate[int](`document.getElementById('video').videoWidth`)),
		testenv.Until(`document.getElementById('video').paused`),
		testenv.Into(&at, chromedp.Evaluate[float64](`document.getElementById('video').currentTime`)),
	)
	if err != nil {
		var page string
		_ = chromedp.Do(ctx, testenv.Into(&page, chromedp.Evaluate[string](`location.href + " | " + (document.getElementById('play-status')||{}).textContent`)))
		t.Fatalf("playing in Chromium: %v (page %s)", err, page)
	}
	if math.Abs(before-1) > 0.1 {
		t.Errorf("the player stood at %.2fs before playing, want the fragment's start 1s", before)
	}
	if width != 320 {
		t.Errorf("decoded %d pixels wide, want the browse copy's 320", width)
	}
	if at < 2.9 || at > 3.3 {
		t.Errorf("playing stopped at %.2fs, want the fragment's end 3s", at)
	}

	// Framed on a partner's page: metadata and a sign-in link, nothing
	// plays; signing in in a popup (identity providers refuse to be
	// framed) makes the frame play the fragment.
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><title>Lesplatform</title><h1>Les over wielrennen</h1>`+
			`<iframe src="`+srv.URL+`/embed/dm21wk0001?start=1&end=3" width="640" height="360"></iframe>`)
	}))
	t.Cleanup(partner.Close)
	ctx = testenv.Browser(t, 2*time.Minute)
	var frames []*chromedp.Node
	err = chromedp.Do(ctx,
		chromedp.Navigate(partner.URL),
		testenv.Into(&frames, chromedp.Nodes(chromedp.CSS(`iframe`), chromedp.Populate(-1, true))),
	)
	if err != nil || len(frames) != 1 {
		t.Fatalf("the partner's page: %v, %d frames", err, len(frames))
	}
	in := chromedp.FromNode(frames[0])
	var videoSrc string
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`#signin`), in),
		testenv.Into(&videoSrc, chromedp.JavascriptAttribute[string](chromedp.CSS(`#video`), "src", in)),
	)
	if err != nil || videoSrc != "" {
		t.Fatalf("the frame before signing in: %v, video source %q", err, videoSrc)
	}
	popup := chromedp.WaitNewTarget(ctx, func(*target.Info) bool { return true })
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#signin`), in)); err != nil {
		t.Fatal(err)
	}
	var popupID target.ID
	select {
	case popupID = <-popup:
	case <-ctx.Done():
		t.Fatal("no sign-in popup opened")
	}
	pctx, cancelPopup := chromedp.NewContext(ctx, chromedp.WithTargetID(popupID))
	defer cancelPopup()
	if err := chromedp.Do(pctx,
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), user[0]),
		chromedp.SendKeys(chromedp.CSS(`#password`), user[1]),
		chromedp.Click(chromedp.CSS(`#kc-login`)),
	); err != nil {
		t.Fatalf("signing in in the popup: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var paused bool
		err = chromedp.Do(ctx,
			testenv.Into(&videoSrc, chromedp.JavascriptAttribute[string](chromedp.CSS(`#video`), "src", in)),
			testenv.Into(&at, chromedp.JavascriptAttribute[float64](chromedp.CSS(`#video`), "currentTime", in)),
			testenv.Into(&paused, chromedp.JavascriptAttribute[bool](chromedp.CSS(`#video`), "paused", in)),
		)
		if err == nil && strings.Contains(videoSrc, "X-Amz-Signature=") && paused && at >= 2.9 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the framed player after signing in: %v, source %q, at %.2fs, paused %v", err, videoSrc, at, paused)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if at > 3.3 {
		t.Errorf("the framed player stopped at %.2fs, want the fragment's end 3s", at)
	}
}

// mediaOf is where the education index says an item's browse copy is.
func mediaOf(t *testing.T, f *fixture, id string) profile.Media {
	t.Helper()
	_, m, err := f.education(t).Browse(f.ctx, id, search.Teacher)
	if err != nil || m == nil {
		t.Fatalf("browse copy of %s: %v %v", id, m, err)
	}
	return *m
}
