// Package demo holds the sample sources avo's demo harvests: a small
// OAI-PMH provider of Dublin Core records and a partner bucket of
// MediaHaven sidecars, each with one record that must be quarantined.
package demo

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

//go:embed data
var data embed.FS

// PageSize is small so the demo pages through resumption tokens.
const PageSize = 4

// PartnerBucket is the bucket the S3 sample is uploaded to.
const PartnerBucket = "partner-demo"

// OAIURLVariable is filled into the sources file with the provider's URL.
const OAIURLVariable = "AVO_DEMO_OAI_URL"

// Repository returns the sample OAI-PMH repository.
func Repository(baseURL string) (*oaipmh.StaticRepository, error) {
	records, err := oaipmh.ReadRecords(data, "data/oai-pmh")
	if err != nil {
		return nil, err
	}
	return &oaipmh.StaticRepository{
		Identity: oaipmh.Identity{
			RepositoryName: "Archive for Education demo provider", BaseURL: baseURL,
			AdminEmails: []string{"demo@example.org"}, EarliestDatestamp: "2026-09-01T00:00:00Z",
			DeletedRecord: "persistent", Granularity: "YYYY-MM-DDThh:mm:ssZ",
		},
		Format: oaipmh.MetadataFormat{
			Prefix: "oai_dc", Schema: "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
			Namespace: "http://www.openarchives.org/OAI/2.0/oai_dc/",
		},
		SetList: []oaipmh.Set{{Spec: "onderwijs", Name: "Onderwijs"}, {Spec: "techniek", Name: "Techniek"}},
		Records: records,
	}, nil
}

// Provider is a running sample OAI-PMH provider.
type Provider struct {
	URL    string
	server *http.Server
}

// Serve starts the sample provider on 127.0.0.1 (port 0: a free one).
func Serve(port int) (*Provider, error) {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("demo OAI-PMH provider: %w", err)
	}
	url := fmt.Sprintf("http://%s/oai", l.Addr())
	repo, err := Repository(url)
	if err != nil {
		l.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/oai", &oaipmh.Provider{Repo: repo, PageSize: PageSize})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return &Provider{URL: url, server: srv}, nil
}

// Close stops the provider.
func (p *Provider) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.server.Shutdown(ctx)
}

// Sources returns the demo's sources file with the provider's URL filled
// in, its mappings checked by known.
func Sources(oaiURL string, known sources.Mappings) (*sources.File, error) {
	b, err := data.ReadFile("data/sources.yaml")
	if err != nil {
		return nil, err
	}
	return sources.Parse(b, func(name string) (string, bool) {
		if name == OAIURLVariable {
			return oaiURL, true
		}
		return os.LookupEnv(name)
	}, known)
}

// SourcesYAML is the demo's sources file as written.
func SourcesYAML() []byte {
	b, _ := data.ReadFile("data/sources.yaml")
	return b
}

// SeedBucket uploads the sample partner bucket (sidecars and an essence file).
func SeedBucket(ctx context.Context, store *s3store.Store) (int, error) {
	if err := store.EnsureBucket(ctx); err != nil {
		return 0, err
	}
	n := 0
	err := fs.WalkDir(data, "data/bucket", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := data.ReadFile(p)
		if err != nil {
			return err
		}
		key := p[len("data/bucket/"):]
		ct := "application/xml"
		if t := sources.BrowseType(key); t != "" {
			ct = t
		}
		n++
		return store.Put(ctx, key, b, ct)
	})
	if err != nil {
		return n, errors.Join(errors.New("seed the demo bucket"), err)
	}
	return n, nil
}
