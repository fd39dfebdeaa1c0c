package oaipmh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const head = `<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-11-01T00:00:00Z</responseDate><ListRecords>`

func oaiRecord(i int, title string) string {
	return fmt.Sprintf(`<record><header><identifier>oai:t:%d</identifier><datestamp>2026-01-01</datestamp><setSpec>a</setSpec></header>`+
		`<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">`+
		`<dc:title>%s</dc:title><dc:identifier>pid%d</dc:identifier>`+
		`<dc:description>Een beschrijving van het fragment, lang genoeg om op een echte te lijken, met een paar zinnen over de inhoud en de context waarin het werd uitgezonden. `+
		`Reportage over de Belgische geschiedenis na 1830, met archiefbeelden van de onafhankelijkheid, de staatshervormingen en interviews met historici en getuigen.</dc:description>`+
		`<dc:creator>Jan Janssens</dc:creator><dc:contributor>An Peeters</dc:contributor><dc:contributor>Marc Wouters</dc:contributor>`+
		`<dc:subject>geschiedenis</dc:subject><dc:subject>België</dc:subject><dc:subject>staatshervorming</dc:subject><dc:type>video</dc:type><dc:format>video/mp4</dc:format>`+
		`<dc:date>2019-10-23</dc:date><dc:coverage>België</dc:coverage><dc:relation>https://hetarchief.be/pid/qs5d8ncx8c</dc:relation>`+
		`<dc:publisher>VRT</dc:publisher><dc:language>nl</dc:language><dc:rights>VIAA-ONDERWIJS</dc:rights></oai_dc:dc></metadata></record>`, i, title, i)
}

func page(n int, token string) string {
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		b.WriteString(oaiRecord(i, fmt.Sprintf("Titel %d", i)))
	}
	if token != "" {
		fmt.Fprintf(&b, `<resumptionToken completeListSize="1000">%s</resumptionToken>`, token)
	}
	b.WriteString(`</ListRecords></OAI-PMH>`)
	return b.String()
}

func titles(t *testing.T, r io.Reader) ([]string, Repairs) {
	t.Helper()
	var out []string
	_, rep, err := Read(r, func(rec Record) error {
		var dc struct {
			Title string `xml:"http://purl.org/dc/elements/1.1/ title"`
		}
		if err := xmlUnmarshal(rec.Metadata, &dc); err != nil {
			return fmt.Errorf("record %s: %w", rec.Header.Identifier, err)
		}
		out = append(out, dc.Title)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, rep
}

func TestRepairs(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		title string
		rep   Repairs
	}{
		{"control characters", head + oaiRecord(1, "A\x0bB\x1fC\x00") + `</ListRecords></OAI-PMH>`, "ABC", Repairs{IllegalChars: 3}},
		{"invalid UTF-8", head + oaiRecord(1, "caf\xe9 \xff") + `</ListRecords></OAI-PMH>`, "caf\uFFFD \uFFFD", Repairs{InvalidUTF8: 2}},
		{"forbidden character references", head + oaiRecord(1, "x&#x1B;y&#0;z&#233;&amp;") + `</ListRecords></OAI-PMH>`, "xyzé&", Repairs{IllegalChars: 2}},
		{"byte order mark", "\xef\xbb\xbf" + head + oaiRecord(1, "bom") + `</ListRecords></OAI-PMH>`, "bom", Repairs{}},
		{"latin-1", strings.Replace(head, "UTF-8", "ISO-8859-1", 1) + oaiRecord(1, "Belgi\xeb") + `</ListRecords></OAI-PMH>`, "België", Repairs{}},
	}
	for _, c := range cases {
		for _, r := range []struct {
			how string
			r   io.Reader
		}{{"whole", strings.NewReader(c.body)}, {"byte by byte", iotest.OneByteReader(strings.NewReader(c.body))}} {
			got, rep := titles(t, r.r)
			if len(got) != 1 || got[0] != c.title || rep != c.rep {
				t.Errorf("%s (%s): titles %q, repairs %+v; want %q, %+v", c.name, r.how, got, rep, c.title, c.rep)
			}
		}
	}
}

func TestUnsupportedEncoding(t *testing.T) {
	_, _, err := Read(strings.NewReader(`<?xml version="1.0" encoding="EBCDIC-FR"?><OAI-PMH/>`), nil)
	if !errors.Is(err, ErrMalformedResponse) || !strings.Contains(err.Error(), "EBCDIC-FR") {
		t.Errorf("got %v", err)
	}
}

// generator streams a huge page without ever holding it.
type generator struct {
	n, i int
	buf  bytes.Buffer
	done bool
}

func (g *generator) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && !g.done {
		switch {
		case g.i == 0:
			g.buf.WriteString(head)
		case g.i > g.n:
			g.buf.WriteString(`<resumptionToken>next</resumptionToken></ListRecords></OAI-PMH>`)
			g.done = true
		default:
			g.buf.WriteString(oaiRecord(g.i, "Titel"))
		}
		g.i++
	}
	if g.buf.Len() == 0 {
		return 0, io.EOF
	}
	return g.buf.Read(p)
}

// The parser's memory follows the largest record, not the page: a page of
// 30,000 records (about 23 MB) passes through a small window.
func TestStreamMemoryDoesNotGrowWithPage(t *testing.T) {
	g := &generator{n: 30000}
	w := newWindow(g, MaxRecordBytes)
	p := &listParser{w: w, dec: newDecoder(w), emit: func(Record) error { return nil }}
	info, err := p.parse()
	if err != nil {
		t.Fatal(err)
	}
	if info.Records != 30000 || info.Token.Value != "next" {
		t.Fatalf("info %+v", info)
	}
	if cap(w.buf) > 256<<10 {
		t.Errorf("the window grew to %d bytes for %d-byte records", cap(w.buf), len(oaiRecord(1, "Titel")))
	}
}

func TestRecordOverLimit(t *testing.T) {
	big := head + oaiRecord(1, strings.Repeat("x", 2000)) + `</ListRecords></OAI-PMH>`
	w := newWindow(strings.NewReader(big), 1000)
	p := &listParser{w: w, dec: newDecoder(w)}
	if _, err := p.parse(); !errors.Is(err, ErrMalformedResponse) || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("got %v", err)
	}
}

func BenchmarkParsePage(b *testing.B) {
	body := []byte(page(100, "tok"))
	b.SetBytes(int64(len(body)))
	b.ReportMetric(float64(len(body))/100, "bytes/record")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		info, _, err := Read(bytes.NewReader(body), func(Record) error { return nil })
		if err != nil || info.Records != 100 {
			b.Fatal(err, info)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "records/s")
}

// Record contents that can fool a scanner: tags in comments and CDATA,
// '>' in attribute values, self-closing and nested same-name elements,
// processing instructions.
func TestSkipTrickyRecords(t *testing.T) {
	records := []string{
		`<x:dc xmlns:x="urn:x"><!-- </x:dc> --><t a="1>2" b='/>'>v</t></x:dc>`,
		`<dc><![CDATA[ </dc> <dc> ]]><dc><dc/></dc></dc>`,
		`<dc/>`,
		`<dc><?pi </dc> ?><e/><e></e></dc>`,
	}
	var b strings.Builder
	b.WriteString(head)
	for i, r := range records {
		fmt.Fprintf(&b, `<record><header><identifier>r%d</identifier><datestamp>2026-01-01</datestamp></header><metadata>%s</metadata></record>`, i, r)
	}
	b.WriteString(`<resumptionToken>t</resumptionToken></ListRecords></OAI-PMH>`)
	page, err := ParseList([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != len(records) || page.Token.Value != "t" {
		t.Fatalf("%d records, token %q", len(page.Records), page.Token.Value)
	}
	for i, r := range page.Records {
		// The response's default namespace is copied onto the record's root.
		if got := strings.Replace(string(r.Metadata), ` xmlns="`+Namespace+`"`, "", 1); got != records[i] {
			t.Errorf("record %d: got %s, want %s", i, got, records[i])
		}
		if err := xmlUnmarshal(r.Metadata, new(struct{})); err != nil {
			t.Errorf("record %d does not parse alone: %v", i, err)
		}
	}
}

// A record cut off inside its content is an error for the page.
func TestTruncatedInsideRecord(t *testing.T) {
	body := page(3, "tok")
	cut := body[:strings.Index(body, "<dc:description>")+30]
	if _, err := ParseList([]byte(cut)); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("got %v", err)
	}
}

// FuzzParseList: no input makes the parser panic or hang, and what it
// returns is consistent.
func FuzzParseList(f *testing.F) {
	f.Add([]byte(page(2, "tok")))
	f.Add([]byte(head + oaiRecord(1, "x&#x1B;\x0b") + `</ListRecords></OAI-PMH>`))
	f.Add([]byte(`<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><error code="badArgument">x</error></OAI-PMH>`))
	f.Add([]byte(head + `<record><header><identifier>a</identifier></header><metadata><a><!--</a>--><![CDATA[<]]></a></metadata></record></ListRecords></OAI-PMH>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := ParseList(body)
		if err != nil {
			return
		}
		if n := bytes.Count(body, []byte("record")) + bytes.Count(body, []byte("header")); len(page.Records) > n {
			t.Fatalf("%d records from a body naming record/header %d times", len(page.Records), n)
		}
	})
}
