package activities

import (
	"sync"

	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
)

// A fetched page is parsed as it arrives (to check it and read its token)
// and, usually on the same worker moments later, parsed again from S3 to
// be processed. parsedPages keeps what the fetch parsed for its own
// worker's ProcessPage: the page's records, under its kept key and the
// digest of its bytes as received. A page fetched again (another attempt,
// maybe on another worker, maybe with other contents) has another digest,
// so a page is only ever processed from what S3 holds under its key:
// either parsed from S3, or parsed from the same bytes before they went
// there. Whatever is not held here is read from S3, as before.
type parsedPages struct {
	mu    sync.Mutex
	pages map[string]parsedPage
	order []string // keys, oldest first
	bytes int
}

type parsedPage struct {
	digest  string
	records []oaipmh.Record
	bytes   int
}

// parsedPagesBudget bounds the bytes of records held: the pages fetched
// ahead of their processing, a few rounds of them for several harvests. A
// page of more than maxParsedPage is not held (nor gathered while it is
// fetched: memory follows a record, not a page).
const (
	parsedPagesBudget = 32 << 20
	maxParsedPage     = parsedPagesBudget / 4
)

// recordBytes is about what holding r costs.
func recordBytes(r oaipmh.Record) int { return len(r.Metadata) + len(r.Header.Identifier) + 64 }

// put holds a page's records (the oldest go first when over budget).
func (p *parsedPages) put(key, digest string, records []oaipmh.Record) {
	size := 0
	for _, r := range records {
		size += recordBytes(r)
	}
	if size > maxParsedPage {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pages == nil {
		p.pages = map[string]parsedPage{}
	}
	p.dropLocked(key)
	for p.bytes+size > parsedPagesBudget && len(p.order) > 0 {
		p.dropLocked(p.order[0])
	}
	p.pages[key] = parsedPage{digest: digest, records: records, bytes: size}
	p.order = append(p.order, key)
	p.bytes += size
}

// take returns (and forgets) the records of the page under key if they
// are those of the bytes with digest; a retry of its processing reads S3.
func (p *parsedPages) take(key, digest string) ([]oaipmh.Record, bool) {
	if digest == "" {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	page, ok := p.pages[key]
	if !ok {
		return nil, false
	}
	p.dropLocked(key)
	if page.digest != digest {
		return nil, false
	}
	return page.records, true
}

func (p *parsedPages) dropLocked(key string) {
	page, ok := p.pages[key]
	if !ok {
		return
	}
	delete(p.pages, key)
	p.bytes -= page.bytes
	for i, k := range p.order {
		if k == key {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
}
