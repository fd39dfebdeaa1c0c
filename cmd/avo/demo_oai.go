package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
)

// demoOAIReport is what a partner platform harvests from avo.
type demoOAIReport struct {
	BaseURL string `json:"base_url"`
	// Records per format; Types counts the lom records by set type:….
	Records map[string]int `json:"records"`
	Types   map[string]int `json:"types"`
	Pages   int            `json:"pages"`
	Indexed int            `json:"education_index"`
}

// demoOAI plays a partner platform that harvests avo's OAI-PMH provider
// in both formats, a page of 100 at a time, and checks it got what the
// education index holds.
func (a *app) demoOAI(ctx context.Context, l *local, base string, rep *demoReport) []string {
	// A list ends at the last whole second before it begins.
	time.Sleep(1100 * time.Millisecond)
	r := &demoOAIReport{BaseURL: base + "/oai", Records: map[string]int{}, Types: map[string]int{}}
	rep.OAI = r
	c := &oaipmh.Client{BaseURL: r.BaseURL, HTTP: oaipmh.NewHTTPClient(10*time.Second, 30*time.Second), UserAgent: userAgent()}
	for _, format := range []string{"oai_dc", "lom"} {
		args := oaipmh.ListArgs{MetadataPrefix: format}
		for page := 0; page < 1000; page++ {
			p, _, err := c.ListRecords(ctx, args)
			var oe *oaipmh.Error
			if errors.As(err, &oe) && oe.Code == oaipmh.NoRecordsMatch {
				break
			}
			if err != nil {
				return []string{fmt.Sprintf("harvesting %s as a partner: %v", format, err)}
			}
			r.Pages++
			for _, rec := range p.Records {
				if rec.Header.Deleted {
					continue
				}
				r.Records[format]++
				for _, s := range rec.Header.SetSpecs {
					if t, ok := strings.CutPrefix(s, "type:"); ok && format == "lom" {
						r.Types[t]++
					}
				}
			}
			if p.Token.Value == "" {
				break
			}
			args = oaipmh.ListArgs{Token: p.Token.Value}
		}
	}
	n, err := l.clients.Indices.Count(ctx, esindex.Education)
	if err != nil {
		return []string{err.Error()}
	}
	r.Indexed = n
	if r.Records["oai_dc"] != n || r.Records["lom"] != n {
		return []string{fmt.Sprintf("a partner harvested %d oai_dc and %d lom records; the education index holds %d", r.Records["oai_dc"], r.Records["lom"], n)}
	}
	return nil
}

func printOAI(w io.Writer, rep demoReport) {
	r := rep.OAI
	if r == nil || len(r.Records) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "== a partner platform harvests avo over OAI-PMH ("+r.BaseURL+") ==")
	fmt.Fprintf(w, "oai_dc: %d records, lom: %d records (%d pages); the education index holds %d\n", r.Records["oai_dc"], r.Records["lom"], r.Pages, r.Indexed)
	var parts []string
	for _, t := range []string{"video", "audio", "collectie", "bundel", "opdracht"} {
		if r.Types[t] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t, r.Types[t]))
		}
	}
	fmt.Fprintf(w, "by type: %s\n", strings.Join(parts, ", "))
}
