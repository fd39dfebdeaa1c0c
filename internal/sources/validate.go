package sources

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// Check is what `avo sources validate` found out about a source.
type Check struct {
	Source   string   `json:"source"`
	OK       bool     `json:"ok"`
	Facts    []string `json:"facts,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// Validate checks that a source can be harvested before anything runs: an OAI-PMH provider answers Identify, offers the metadata format
// and has the configured sets; a partner bucket can be listed.
func Validate(ctx context.Context, src Source, own config.S3, userAgent string) Check {
	ck := Check{Source: src.ID}
	switch src.Kind {
	case KindOAIPMH:
		validateOAI(ctx, src, userAgent, &ck)
	case KindS3:
		validateS3(ctx, src, own, &ck)
	}
	ck.OK = len(ck.Problems) == 0
	return ck
}

func validateOAI(ctx context.Context, src Source, userAgent string, ck *Check) {
	timeout := time.Duration(src.OAI.Timeout)
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	client := &oaipmh.Client{BaseURL: src.OAI.URL, HTTP: oaipmh.NewHTTPClient(10*time.Second, timeout), UserAgent: userAgent}
	id, err := client.Identify(ctx)
	if err != nil {
		ck.Problems = append(ck.Problems, fmt.Sprintf("Identify at %s: %v", src.OAI.URL, err))
		return
	}
	ck.Facts = append(ck.Facts, fmt.Sprintf("%q answers Identify: granularity %s, deleted records %s, earliest %s",
		id.RepositoryName, id.Granularity, id.DeletedRecord, id.EarliestDatestamp))
	formats, err := client.ListMetadataFormats(ctx)
	if err != nil {
		ck.Problems = append(ck.Problems, fmt.Sprintf("ListMetadataFormats: %v", err))
	} else {
		var offered []string
		for _, f := range formats {
			offered = append(offered, f.Prefix)
		}
		if !slices.Contains(offered, src.OAI.MetadataPrefix) {
			ck.Problems = append(ck.Problems, fmt.Sprintf("format %s is not offered (offered: %v)", src.OAI.MetadataPrefix, offered))
		}
	}
	if len(src.OAI.Sets) > 0 {
		sets, err := client.ListSets(ctx)
		if err != nil {
			ck.Problems = append(ck.Problems, fmt.Sprintf("ListSets: %v", err))
			return
		}
		have := map[string]bool{}
		for _, s := range sets {
			have[s.Spec] = true
		}
		for _, s := range src.OAI.Sets {
			if !have[s] {
				ck.Problems = append(ck.Problems, fmt.Sprintf("set %s does not exist at the provider", s))
			}
		}
	}
}

func validateS3(ctx context.Context, src Source, own config.S3, ck *Check) {
	st, err := s3store.New(ctx, src.S3.Config(own))
	if err != nil {
		ck.Problems = append(ck.Problems, err.Error())
		return
	}
	sel := src.S3.Selector(src.Mapping)
	for _, prefix := range src.S3.AllPrefixes() {
		objs, _, err := st.ListPage(ctx, prefix, "", 100)
		if err != nil {
			ck.Problems = append(ck.Problems, s3store.Explain(src.S3.Bucket, prefix, err))
			return
		}
		meta := 0
		for _, o := range objs {
			if _, ok := sel.Mapping(o.Key); ok {
				meta++
			}
		}
		ck.Facts = append(ck.Facts, fmt.Sprintf("s3://%s/%s can be listed: %d metadata objects among the first %d keys", src.S3.Bucket, prefix, meta, len(objs)))
	}
}
