package api_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// fetch GETs a URL and returns the status, content type and body.
func fetch(t *testing.T, u string) (int, string, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// TestRecordPagesAndOEmbed: a record's public page shows its metadata to
// anyone with oEmbed discovery links and schema.org JSON-LD; oEmbed answers
// for it as the spec says, in JSON and XML, within the size asked.
func TestRecordPagesAndOEmbed(t *testing.T) {
	srv, _ := server(t)

	status, ctype, body := fetch(t, srv.URL+"/items/fiets1?start=10&end=40")
	if status != http.StatusOK || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "<h1>De fiets van opa</h1>") || !strings.Contains(body, "Fragment: 0:10 – 0:40") ||
		!strings.Contains(body, `<div id="player" data-id="fiets1" data-start="10" data-end="40">`) {
		t.Fatalf("the page of fiets1: %d %s\n%s", status, ctype, body)
	}
	self := srv.URL + "/items/fiets1?end=40&start=10"
	for _, link := range []string{
		`<link rel="alternate" type="application/json+oembed" href="` + srv.URL + `/oembed?format=json&amp;url=` + url.QueryEscape(self) + `"`,
		`<link rel="alternate" type="text/xml+oembed" href="` + srv.URL + `/oembed?format=xml&amp;url=` + url.QueryEscape(self) + `"`,
	} {
		if !strings.Contains(body, link) {
			t.Errorf("the page lacks %s", link)
		}
	}
	m := regexp.MustCompile(`(?s)<script type="application/ld\+json">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no JSON-LD in\n%s", body)
	}
	var ld map[string]any
	if err := json.Unmarshal([]byte(m[1]), &ld); err != nil {
		t.Fatalf("JSON-LD: %v\n%s", err, m[1])
	}
	if ld["@context"] != "https://schema.org" || ld["name"] != "De fiets van opa" || ld["learningResourceType"] != "video" ||
		!strings.Contains(string(m[1]), `"LearningResource"`) || !strings.Contains(string(m[1]), `"VideoObject"`) {
		t.Errorf("JSON-LD: %s", m[1])
	}
	if status, _, body := fetch(t, srv.URL+"/embed/fiets1"); status != http.StatusOK || !strings.Contains(body, "Meld je aan om af te spelen") ||
		!strings.Contains(body, `<div id="player" data-id="fiets1">`) || !strings.Contains(body, `<script src="/player.js">`) {
		t.Errorf("the embed page of an item with a browse copy: %d\n%s", status, body)
	}
	// The page never names where the copy lies: only the API hands out
	// an address, to a signed-in teacher or pupil.
	if strings.Contains(body, "fiets1.webm") || strings.Contains(body, "vrt-archief") {
		t.Errorf("the page tells where the browse copy lies:\n%s", body)
	}
	if status, _, body := fetch(t, srv.URL+"/embed/belgie1"); status != http.StatusOK || strings.Contains(body, `id="player"`) || !strings.Contains(body, "Meld je aan") {
		t.Errorf("the embed page of an item without a browse copy: %d\n%s", status, body)
	}
	if status, _, _ := fetch(t, srv.URL+"/items/nosuchitem"); status != http.StatusNotFound {
		t.Errorf("the page of an unknown item: %d", status)
	}

	var video map[string]any
	status, ctype, body = fetch(t, srv.URL+"/oembed?maxwidth=320&url="+url.QueryEscape(self))
	if status != http.StatusOK || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal([]byte(body), &video) != nil {
		t.Fatalf("oEmbed: %d %s %s", status, ctype, body)
	}
	html, _ := video["html"].(string)
	if video["type"] != "video" || video["version"] != "1.0" || video["width"] != 320.0 || video["height"] != 180.0 ||
		!strings.Contains(html, `src="`+srv.URL+`/embed/fiets1?end=40&amp;start=10"`) || video["provider_name"] != "Archief voor Onderwijs" || video["author_name"] != "VRT" {
		t.Errorf("oEmbed of a video fragment: %v", video)
	}
	status, ctype, body = fetch(t, srv.URL+"/oembed?format=xml&url="+url.QueryEscape(srv.URL+"/items/dossier1"))
	var rich struct {
		XMLName xml.Name `xml:"oembed"`
		Type    string   `xml:"type"`
		Width   int      `xml:"width"`
	}
	if status != http.StatusOK || !strings.HasPrefix(ctype, "text/xml") || xml.Unmarshal([]byte(body), &rich) != nil || rich.Type != "rich" || rich.Width != 640 {
		t.Errorf("oEmbed of a collection in XML: %d %s %s", status, ctype, body)
	}
	for _, c := range []struct {
		query  string
		status int
	}{
		{"url=" + url.QueryEscape(srv.URL+"/items/fiets1") + "&format=yaml", http.StatusNotImplemented},
		{"url=" + url.QueryEscape("https://elsewhere.example/items/fiets1"), http.StatusNotFound},
		{"url=" + url.QueryEscape(srv.URL+"/items/nosuchitem"), http.StatusNotFound},
		{"url=" + url.QueryEscape(srv.URL+"/items/fiets1?start=40&end=10"), http.StatusBadRequest},
	} {
		if status, _, body := fetch(t, srv.URL+"/oembed?"+c.query); status != c.status {
			t.Errorf("oembed?%s: %d %s, want %d", c.query, status, body, c.status)
		}
	}
}
