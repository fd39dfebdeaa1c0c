package esindex

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/config"
)

// A cluster with its own certificate authority is reached through the
// configured CA certificate, and refused without it.
func TestClientTrustsConfiguredCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"version":{"number":"8.19.7"},"tagline":"You Know, for Search"}`))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	es, err := NewClient(config.Elasticsearch{URLs: []string{srv.URL}, CACert: ca})
	if err != nil {
		t.Fatal(err)
	}
	res, err := es.Info()
	if err != nil {
		t.Fatalf("with the CA certificate: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("with the CA certificate: HTTP %d", res.StatusCode)
	}

	es, err = NewClient(config.Elasticsearch{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	// The client retries failed connections; the first refusal is enough.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if res, err := es.Info(es.Info.WithContext(ctx)); err == nil {
		res.Body.Close()
		t.Fatal("a certificate no CA vouches for was accepted")
	}
}
