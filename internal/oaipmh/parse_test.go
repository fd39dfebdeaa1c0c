package oaipmh

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/archiefvooronderwijs/avo/internal/fixtures"
)

func sickle(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "oai-pmh/sickle"), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseListRecordsRecorded(t *testing.T) {
	page, err := ParseList(sickle(t, "ListRecords.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if page.ResponseDate != "2013-02-27T09:10:56Z" {
		t.Errorf("responseDate = %q", page.ResponseDate)
	}
	if len(page.Records) != 2 {
		t.Fatalf("%d records, want 2", len(page.Records))
	}
	del, rec := page.Records[0], page.Records[1]
	if !del.Header.Deleted || del.Header.Identifier != "oai:test.example.com:1585310" || del.Metadata != nil {
		t.Errorf("first record should be the deleted oai:test.example.com:1585310 without metadata: %+v", del)
	}
	if rec.Header.Deleted || rec.Header.Identifier != "oai:test.example.com:1585322" || rec.Header.Datestamp != "2011-01-10T10:19:23Z" {
		t.Errorf("second record header: %+v", rec.Header)
	}
	if page.Token.Value == "" {
		t.Errorf("the first page has a resumption token")
	}
	// The metadata stands on its own, with its namespaces.
	var dc struct {
		XMLName xml.Name
		Titles  []string `xml:"http://purl.org/dc/elements/1.1/ title"`
	}
	if err := xml.Unmarshal(rec.Metadata, &dc); err != nil {
		t.Fatalf("metadata does not parse alone: %v\n%s", err, rec.Metadata)
	}
	if dc.XMLName.Space != "http://www.openarchives.org/OAI/2.0/oai_dc/" || dc.XMLName.Local != "dc" || len(dc.Titles) != 1 || dc.Titles[0] != "Sample Title" {
		t.Errorf("metadata = %+v", dc)
	}
}

// Every page of the recorded paged list parses; the last one ends the list.
func TestParseRecordedPages(t *testing.T) {
	total := 0
	for _, name := range []string{"ListRecords.xml", "ListRecords2.xml", "ListRecords3.xml", "ListRecords4.xml"} {
		page, err := ParseList(sickle(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		total += len(page.Records)
		last := name == "ListRecords4.xml"
		if last != (page.Token.Value == "") {
			t.Errorf("%s: token %q", name, page.Token.Value)
		}
	}
	if total != 8 {
		t.Errorf("%d records over four pages, want 8 (the completeListSize)", total)
	}
}

// A header without identifier spoils that record only.
func TestParseHeaderWithoutIdentifier(t *testing.T) {
	page, err := ParseList(sickle(t, "ListRecords4.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if page.Records[0].Problem == "" {
		t.Errorf("the identifier-less record has no problem set: %+v", page.Records[0])
	}
	if page.Records[1].Problem != "" || page.Records[1].Metadata == nil {
		t.Errorf("the good record on the same page: %+v", page.Records[1])
	}
}

func TestParseListIdentifiersRecorded(t *testing.T) {
	page, err := ParseList(sickle(t, "ListIdentifiers.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 2 || page.Records[0].Header.Identifier != "oai:test.example.com::1585310" || !page.Records[1].Header.Deleted {
		t.Fatalf("headers = %+v", page.Records)
	}
	if page.Token.Value != "ListIdentifiers2.xml" || page.Token.CompleteListSize != 4 || page.Token.Cursor != 0 {
		t.Errorf("token = %+v", page.Token)
	}
}

func TestParseGetRecordRecorded(t *testing.T) {
	for _, name := range []string{"GetRecord.xml", "GetRecord_utf8test.xml"} {
		page, err := ParseList(sickle(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(page.Records) != 1 || page.Records[0].Metadata == nil {
			t.Fatalf("%s: %+v", name, page.Records)
		}
	}
}

// Every recorded protocol error is parsed and classified.
func TestRecordedErrors(t *testing.T) {
	cases := []struct {
		file      string
		code      string
		permanent bool
	}{
		{"badArgument.xml", BadArgument, true},
		{"badResumptionToken.xml", BadResumptionToken, false},
		{"cannotDisseminateFormat.xml", CannotDisseminateFormat, true},
		{"idDoesNotExist.xml", IDDoesNotExist, true},
		{"noSetHierarchy.xml", NoSetHierarchy, true},
		{"undefinedError.xml", "undefinedError", false},
	}
	for _, c := range cases {
		_, err := ParseList(sickle(t, c.file))
		var oe *Error
		if !errors.As(err, &oe) {
			t.Errorf("%s: error %v is not an *Error", c.file, err)
			continue
		}
		if oe.Code != c.code || oe.Permanent() != c.permanent {
			t.Errorf("%s: code %q permanent %v; want %q %v", c.file, oe.Code, oe.Permanent(), c.code, c.permanent)
		}
	}
}

func TestNoRecordsMatchIsEmpty(t *testing.T) {
	page, err := ParseList(sickle(t, "noRecordsMatch.xml"))
	if err != nil {
		t.Fatalf("noRecordsMatch is an empty result, not an error: %v", err)
	}
	if len(page.Records) != 0 || page.Token.Value != "" {
		t.Errorf("page = %+v", page)
	}
}

func TestBrokenResponse(t *testing.T) {
	_, err := ParseList(sickle(t, "ListRecordsBroken.xml"))
	if !errors.Is(err, ErrMalformedResponse) && !errors.Is(err, ErrNotOAIPMH) {
		t.Fatalf("broken XML: %v", err)
	}
	if _, err := ParseList([]byte(`<html><body>Service down</body></html>`)); !errors.Is(err, ErrNotOAIPMH) {
		t.Errorf("an HTML page: %v", err)
	}
	if _, err := ParseList(nil); !errors.Is(err, ErrNotOAIPMH) {
		t.Errorf("an empty body: %v", err)
	}
}

func TestIdentifyRecorded(t *testing.T) {
	id, err := ParseIdentify(sickle(t, "Identify.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if id.Granularity != "YYYY-MM-DD" || id.DeletedRecord != "persistent" || id.EarliestDatestamp != "1970-01-01T00:00:00Z" || id.RepositoryName != "A Test Repository" {
		t.Errorf("identity = %+v", id)
	}
}

// Namespaces declared on the response root reach the metadata element.
func TestMetadataNamespacesFromAncestors(t *testing.T) {
	body := `<?xml version="1.0"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/">
<responseDate>2026-01-01T00:00:00Z</responseDate><ListRecords>
<record><header><identifier>x:1</identifier><datestamp>2026-01-01</datestamp></header>
<metadata><oai_dc:dc><dc:title>Één &amp; twee</dc:title><unprefixed>v</unprefixed></oai_dc:dc></metadata></record>
</ListRecords></OAI-PMH>`
	page, err := ParseList([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var dc struct {
		XMLName    xml.Name
		Title      string   `xml:"http://purl.org/dc/elements/1.1/ title"`
		Unprefixed xml.Name `xml:"unprefixed"`
	}
	md := page.Records[0].Metadata
	if err := xml.Unmarshal(md, &dc); err != nil {
		t.Fatalf("%v\n%s", err, md)
	}
	if dc.XMLName.Space != "http://www.openarchives.org/OAI/2.0/oai_dc/" || dc.Title != "Één & twee" {
		t.Errorf("parsed %+v from %s", dc, md)
	}
	// An unprefixed child keeps the default namespace it had in the response.
	if dc.Unprefixed.Space != Namespace {
		t.Errorf("unprefixed element namespace %q, want %q", dc.Unprefixed.Space, Namespace)
	}
}

// The recorded responses, served over HTTP, through the client as the
// harvester uses it.
func TestRecordedResponsesThroughClient(t *testing.T) {
	dir := fixtures.Dir(t, "oai-pmh/sickle")
	serve := func(name string) *Client {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(b) }))
		t.Cleanup(srv.Close)
		return &Client{BaseURL: srv.URL}
	}
	ctx := context.Background()
	var raw bytes.Buffer
	var ids []string
	info, _, err := serve("ListRecords.xml").List(ctx, "ListRecords", ListArgs{MetadataPrefix: "oai_dc"}, &raw, func(r Record) error {
		ids = append(ids, r.Header.Identifier)
		return nil
	})
	if err != nil || len(ids) != 2 || info.Token.Value == "" {
		t.Errorf("ListRecords: %v %v %+v", err, ids, info)
	}
	if want, _ := os.ReadFile(filepath.Join(dir, "ListRecords.xml")); !bytes.Equal(raw.Bytes(), want) {
		t.Error("the raw copy differs from the bytes sent")
	}
	if rec, err := serve("GetRecord.xml").GetRecord(ctx, "oai:test.example.com:1996652", "oai_dc"); err != nil || rec.Metadata == nil {
		t.Errorf("GetRecord: %v", err)
	}
	if id, err := serve("Identify.xml").Identify(ctx); err != nil || id.Granularity != "YYYY-MM-DD" {
		t.Errorf("Identify: %+v %v", id, err)
	}
	if formats, err := serve("ListMetadataFormats.xml").ListMetadataFormats(ctx); err != nil || len(formats) != 5 {
		t.Errorf("ListMetadataFormats: %d formats, %v", len(formats), err)
	}
	if sets, err := serve("ListSets.xml").ListSets(ctx); err != nil || len(sets) != 131 {
		t.Errorf("ListSets: %d sets, %v", len(sets), err)
	}
	if sets, err := serve("noSetHierarchy.xml").ListSets(ctx); err != nil || sets != nil {
		t.Errorf("noSetHierarchy: %v %v", sets, err)
	}
	_, _, err = serve("badArgument.xml").List(ctx, "ListRecords", ListArgs{MetadataPrefix: "oai_dc"}, nil, nil)
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != BadArgument {
		t.Errorf("badArgument through the client: %v", err)
	}
	_, _, err = serve("ListRecordsBroken.xml").List(ctx, "ListRecords", ListArgs{MetadataPrefix: "oai_dc"}, nil, nil)
	if !errors.Is(err, ErrNotOAIPMH) && !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("broken: %v", err)
	}
}
