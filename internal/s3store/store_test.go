package s3store_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptrace"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestStoreOnVersityGW(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := testenv.Store(t, testenv.Config(t))
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatalf("a second EnsureBucket: %v", err)
	}

	if err := st.Put(ctx, "a/plain.xml", []byte("<x/>"), "application/xml"); err != nil {
		t.Fatal(err)
	}
	obj, err := st.Get(ctx, "a/plain.xml", 0)
	if err != nil || string(obj.Body) != "<x/>" || obj.ETag == "" {
		t.Fatalf("get: %q %q %v", obj.Body, obj.ETag, err)
	}
	if _, err := st.Get(ctx, "a/plain.xml", 2); !errors.Is(err, s3store.ErrTooLarge) {
		t.Errorf("limit: %v", err)
	}

	page := []byte("<OAI-PMH>een pagina met België</OAI-PMH>")
	if err := st.PutGzip(ctx, "raw/p.xml.gz", page, "text/xml"); err != nil {
		t.Fatal(err)
	}
	back, err := st.GetGzip(ctx, "raw/p.xml.gz")
	if err != nil || string(back) != string(page) {
		t.Fatalf("gzip round trip: %q %v", back, err)
	}

	type rec struct{ ID string }
	if err := st.PutJSON(ctx, "r/1.json", rec{"x1"}); err != nil {
		t.Fatal(err)
	}
	var r rec
	if err := st.GetJSON(ctx, "r/1.json", &r); err != nil || r.ID != "x1" {
		t.Fatalf("json: %+v %v", r, err)
	}

	_, err = st.Get(ctx, "nope", 0)
	if !s3store.IsNotFound(err) {
		t.Errorf("missing object: %v is not NotFound", err)
	}
	if err := st.Delete(ctx, "nope"); err != nil {
		t.Errorf("deleting a missing object: %v", err)
	}
	if err := st.Delete(ctx, "r/1.json"); err != nil {
		t.Fatal(err)
	}
	if err := st.GetJSON(ctx, "r/1.json", &r); !s3store.IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
}

// Listing pages through continuation tokens and sees every key once.
func TestListPaging(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := testenv.Store(t, testenv.Config(t))
	for i := range 7 {
		if err := st.Put(ctx, fmt.Sprintf("p/%02d.xml", i), []byte("x"), "application/xml"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Put(ctx, "other/x.xml", []byte("x"), "application/xml"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	token, pages := "", 0
	for {
		objs, next, err := st.ListPage(ctx, "p/", token, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range objs {
			if seen[o.Key] {
				t.Errorf("%s listed twice", o.Key)
			}
			seen[o.Key] = true
		}
		if next == "" {
			break
		}
		token = next
	}
	if len(seen) != 7 || pages != 3 {
		t.Errorf("%d keys on %d pages, want 7 on 3", len(seen), pages)
	}
	all, err := st.List(ctx, "")
	if err != nil || len(all) != 8 {
		t.Errorf("list all: %d, %v", len(all), err)
	}
}

func TestPutIfHoldsOnlyForTheVersionRead(t *testing.T) {
	st := testenv.Store(t, testenv.Config(t))
	ctx := context.Background()
	v1, err := st.PutIf(ctx, "cond/doc.json", []byte(`{"n":1}`), "application/json", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutIf(ctx, "cond/doc.json", []byte(`{"n":0}`), "application/json", ""); !s3store.IsConflict(err) {
		t.Fatalf("creating an object that exists: want a conflict, got %v", err)
	}
	v2, err := st.PutIf(ctx, "cond/doc.json", []byte(`{"n":2}`), "application/json", v1)
	if err != nil || v2 == "" || v2 == v1 {
		t.Fatalf("write over the version read: %q, %v", v2, err)
	}
	if _, err := st.PutIf(ctx, "cond/doc.json", []byte(`{"n":3}`), "application/json", v1); !s3store.IsConflict(err) {
		t.Fatalf("write over a version no longer there: want a conflict, got %v", err)
	}
	obj, err := st.Get(ctx, "cond/doc.json", 0)
	if err != nil || string(obj.Body) != `{"n":2}` || obj.ETag != v2 {
		t.Fatalf("kept %s (%s), %v; want the second write (%s)", obj.Body, obj.ETag, err, v2)
	}
}

// Connections are kept between requests, as many as the writers use at
// once (s3.connections): a harvest makes a request a record, and opening
// a connection for each costs client and server more than the request.
func TestConnectionsAreReused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := testenv.Config(t)
	const writers = 32
	c.S3.Connections = writers
	st := testenv.Store(t, c)
	var opened, reused atomic.Int64
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if info.Reused {
			reused.Add(1)
		} else {
			opened.Add(1)
		}
	}})
	for i := range 20 {
		if err := st.Put(ctx, fmt.Sprintf("conns/one/%d.json", i), []byte(`{}`), "application/json"); err != nil {
			t.Fatal(err)
		}
	}
	if opened.Load() > 1 {
		t.Errorf("20 requests one after the other opened %d connections, want 1", opened.Load())
	}
	opened.Store(0)
	for round := range 10 {
		var g errgroup.Group
		for i := range writers {
			g.Go(func() error {
				return st.Put(ctx, fmt.Sprintf("conns/many/%d-%d.json", round, i), []byte(`{}`), "application/json")
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if n := opened.Load(); n > writers {
		t.Errorf("10 rounds of %d writers at once opened %d connections (%d reused), want at most %d", writers, n, reused.Load(), writers)
	}
}
