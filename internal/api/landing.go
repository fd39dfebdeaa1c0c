package api

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

// landingTemplate is a record's public page: its metadata for anyone
// (playing needs signing in, as the licence says), oEmbed discovery
// links, and schema.org LearningResource JSON-LD (LRMI) for search
// engines. With embed set it is the compact page an iframe shows.
var landingTemplate = template.Must(template.New("landing").Parse(`<!doctype html>
<html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Hit.Title}} · Archief voor Onderwijs</title>
<link rel="canonical" href="{{.URL}}">
<link rel="alternate" type="application/json+oembed" href="{{.OEmbedJSON}}" title="{{.Hit.Title}}">
<link rel="alternate" type="text/xml+oembed" href="{{.OEmbedXML}}" title="{{.Hit.Title}}">
<script type="application/ld+json">{{.JSONLD}}</script>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:48rem}img{max-width:100%}dt{font-weight:600}.signin{display:inline-block;margin-top:.5rem}</style>
</head><body>
<article>
<h1>{{.Hit.Title}}</h1>
{{if .Hit.Thumbnail}}<img src="{{.Hit.Thumbnail}}" alt="">{{end}}
{{if .Fragment}}<p>Fragment: {{.Fragment}}</p>{{end}}
{{if .Playable}}<div id="player" data-id="{{.Hit.ID}}"{{if .Start}} data-start="{{.Start}}"{{end}}{{if .End}} data-end="{{.End}}"{{end}}>
<video id="video" controls playsinline preload="metadata" hidden{{if .Hit.Thumbnail}} poster="{{.Hit.Thumbnail}}"{{end}}></video>
<p id="play-status" role="status"></p>
</div>
<p id="signin-box"><a class="signin" id="signin" href="{{.SignIn}}">Meld je aan om af te spelen</a> (leerkrachten en leerlingen)</p>
<script src="/vendor/oidc-client-ts-3.5.0.min.js"></script>
<script src="/player.js"></script>
{{else}}<p><a class="signin" href="{{.SignIn}}">Meld je aan</a> (leerkrachten en leerlingen)</p>{{end}}
{{if not .Embed}}
{{if .Hit.Description}}<p>{{.Hit.Description}}</p>{{end}}
<dl>
<dt>Soort</dt><dd>{{.Hit.Type}}</dd>
{{if .Hit.Provider}}<dt>Aanbieder</dt><dd>{{.Hit.Provider}}</dd>{{end}}
{{if .Hit.Owner}}<dt>Gemaakt door</dt><dd>{{.Hit.Owner}}</dd>{{end}}
{{if .Hit.Levels}}<dt>Onderwijsniveau</dt><dd>{{range $i, $v := .Hit.Levels}}{{if $i}}, {{end}}{{$v}}{{end}}</dd>{{end}}
{{if .Hit.Subjects}}<dt>Vakken</dt><dd>{{range $i, $v := .Hit.Subjects}}{{if $i}}, {{end}}{{$v}}{{end}}</dd>{{end}}
{{if .Hit.Duration}}<dt>Duur</dt><dd>{{.Duration}}</dd>{{end}}
</dl>
{{end}}
</article>
</body></html>
`))

// landingPage is what the template shows.
type landingPage struct {
	Hit                        *search.Hit
	URL, OEmbedJSON, OEmbedXML string
	SignIn, Fragment, Duration string
	// Start and End bound the fragment the player plays (seconds).
	Start, End string
	JSONLD     template.JS
	Embed      bool
	// Playable: the item has a browse copy, which the page plays for a
	// signed-in teacher or pupil.
	Playable bool
}

// base is this server's public address.
func (s *Server) base(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// landing serves /items/{id} (and /embed/{id}, compact): a record teachers
// may see, to anyone, without playing it.
func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	embed := strings.HasPrefix(r.URL.Path, "/embed/")
	id := r.PathValue("id")
	hit, playable, err := s.lookup(r, id)
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, search.ErrNotFound) {
			status = http.StatusNotFound
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	start, end, err := fragment(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	base := s.base(r)
	page := base + "/items/" + url.PathEscape(id)
	self := page + fragmentQuery(start, end)
	p := landingPage{Hit: hit, URL: self, Embed: embed, Playable: playable,
		OEmbedJSON: base + "/oembed?format=json&url=" + url.QueryEscape(self),
		OEmbedXML:  base + "/oembed?format=xml&url=" + url.QueryEscape(self),
		SignIn:     base + "/?q=" + url.QueryEscape(hit.Title),
		Duration:   clock(hit.Duration),
	}
	if start != nil {
		p.Start = seconds(*start)
	}
	if end != nil {
		p.End = seconds(*end)
	}
	if start != nil || end != nil {
		p.Fragment = clock(int(deref(start))) + " tot het einde"
		if end != nil {
			p.Fragment = clock(int(deref(start))) + " – " + clock(int(*end))
		}
	}
	ld, err := json.Marshal(learningResource(hit, page))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	p.JSONLD = template.JS(strings.ReplaceAll(string(ld), "</", `<\/`))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	if embed {
		w.Header().Set("Content-Security-Policy", "frame-ancestors *")
	}
	_ = landingTemplate.Execute(w, p)
}

// lookup finds a record teachers may see (an item or a public piece) and
// whether it has a browse copy to play.
func (s *Server) lookup(r *http.Request, id string) (*search.Hit, bool, error) {
	if s.Search == nil {
		return nil, false, search.ErrNotFound
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	hit, media, err := s.Search.Browse(ctx, id, search.Teacher)
	return hit, media != nil, err
}

// learningResource is a record as schema.org LearningResource (LRMI).
func learningResource(h *search.Hit, page string) map[string]any {
	ld := map[string]any{
		"@context": "https://schema.org", "@type": []string{"LearningResource"}, "@id": page, "url": page,
		"name": h.Title, "identifier": h.ID, "isAccessibleForFree": true,
		"conditionsOfAccess": "Af te spelen door aangemelde leerkrachten en leerlingen.",
	}
	switch h.Type {
	case "video":
		ld["@type"] = []string{"LearningResource", "VideoObject"}
		ld["learningResourceType"] = "video"
	case "audio":
		ld["@type"] = []string{"LearningResource", "AudioObject"}
		ld["learningResourceType"] = "audio"
	case "opdracht":
		ld["learningResourceType"] = "opdracht"
	default:
		ld["learningResourceType"] = h.Type
	}
	if h.Description != "" {
		ld["description"] = h.Description
	}
	if h.Thumbnail != "" {
		ld["thumbnailUrl"] = h.Thumbnail
	}
	if len(h.Languages) > 0 {
		ld["inLanguage"] = h.Languages
	}
	if len(h.Keywords) > 0 {
		ld["keywords"] = strings.Join(h.Keywords, ", ")
	}
	if h.Duration > 0 {
		ld["timeRequired"] = fmt.Sprintf("PT%dS", h.Duration)
		if h.Type == "video" || h.Type == "audio" {
			ld["duration"] = ld["timeRequired"]
		}
	}
	if h.Provider != "" {
		ld["publisher"] = map[string]any{"@type": "Organization", "name": h.Provider}
	}
	if h.Owner != "" {
		ld["author"] = map[string]any{"@type": "Person", "name": h.Owner}
	}
	terms := func(set string, names []string) []any {
		var out []any
		for _, n := range names {
			out = append(out, map[string]any{"@type": "DefinedTerm", "name": n, "inDefinedTermSet": set})
		}
		return out
	}
	if levels := append(append([]string{}, h.Levels...), h.Degrees...); len(levels) > 0 {
		ld["educationalLevel"] = terms("https://w3id.org/onderwijs-vlaanderen/id/structuur", levels)
	}
	if len(h.Subjects) > 0 {
		ld["about"] = terms("https://w3id.org/onderwijs-vlaanderen/id/vak", h.Subjects)
	}
	ld["audience"] = map[string]any{"@type": "EducationalAudience", "educationalRole": "teacher"}
	return ld
}

// oembed answers oEmbed 1.0 for this server's record pages: a video
// (audio too) as type video, a collection, bundle or assignment as rich;
// the html is an iframe of the record's embed page, sized within
// maxwidth and maxheight.
func (s *Server) oembed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "xml" {
		http.Error(w, "format "+format+" is not offered: json or xml", http.StatusNotImplemented)
		return
	}
	target, err := url.Parse(q.Get("url"))
	base := s.base(r)
	id, ok := "", false
	if err == nil {
		b, _ := url.Parse(base)
		if target.Host == b.Host {
			id, ok = strings.CutPrefix(target.Path, "/items/")
		}
	}
	if !ok || id == "" || strings.Contains(id, "/") {
		http.Error(w, "not a record page of this server", http.StatusNotFound)
		return
	}
	hit, _, err := s.lookup(r, id)
	if errors.Is(err, search.ErrNotFound) {
		// A teacher's private piece: the consumer links to it, and avo
		// decides who may see it (oEmbed 1.0, 2.3.4).
		if s.Content != nil && content.ValidID(id) {
			if _, _, gerr := s.Content.Get(r.Context(), id); gerr == nil {
				http.Error(w, id+" is private", http.StatusUnauthorized)
				return
			}
		}
		http.Error(w, "no record "+id+" that teachers may see", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, http.StatusText(http.StatusBadGateway), http.StatusBadGateway)
		return
	}
	start, end, err := fragment(target.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	width, height := 640, 360
	if mw, err := strconv.Atoi(q.Get("maxwidth")); err == nil && mw > 0 && mw < width {
		width, height = mw, mw*9/16
	}
	if mh, err := strconv.Atoi(q.Get("maxheight")); err == nil && mh > 0 && mh < height {
		width, height = mh*16/9, mh
	}
	src := base + "/embed/" + url.PathEscape(id) + fragmentQuery(start, end)
	kind := "rich"
	if hit.Type == "video" || hit.Type == "audio" {
		kind = "video"
	}
	author := hit.Provider
	if hit.Owner != "" {
		author = hit.Owner
	}
	out := oembedAnswer{
		Type: kind, Version: "1.0", Title: hit.Title, AuthorName: author,
		ProviderName: "Archief voor Onderwijs", ProviderURL: base + "/",
		HTML:  fmt.Sprintf(`<iframe src="%s" width="%d" height="%d" frameborder="0" allowfullscreen title="%s"></iframe>`, template.HTMLEscapeString(src), width, height, template.HTMLEscapeString(hit.Title)),
		Width: width, Height: height, CacheAge: 300,
	}
	if hit.Thumbnail != "" {
		out.ThumbnailURL, out.ThumbnailWidth, out.ThumbnailHeight = hit.Thumbnail, width, height
	}
	if format == "json" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(out)
}

// oembedAnswer is an oEmbed 1.0 response.
type oembedAnswer struct {
	XMLName         xml.Name `json:"-" xml:"oembed"`
	Type            string   `json:"type" xml:"type"`
	Version         string   `json:"version" xml:"version"`
	Title           string   `json:"title,omitempty" xml:"title,omitempty"`
	AuthorName      string   `json:"author_name,omitempty" xml:"author_name,omitempty"`
	ProviderName    string   `json:"provider_name" xml:"provider_name"`
	ProviderURL     string   `json:"provider_url" xml:"provider_url"`
	CacheAge        int      `json:"cache_age" xml:"cache_age"`
	ThumbnailURL    string   `json:"thumbnail_url,omitempty" xml:"thumbnail_url,omitempty"`
	ThumbnailWidth  int      `json:"thumbnail_width,omitempty" xml:"thumbnail_width,omitempty"`
	ThumbnailHeight int      `json:"thumbnail_height,omitempty" xml:"thumbnail_height,omitempty"`
	HTML            string   `json:"html" xml:"html"`
	Width           int      `json:"width" xml:"width"`
	Height          int      `json:"height" xml:"height"`
}

// fragment reads start and end (seconds) of a record page's address.
func fragment(q url.Values) (start, end *float64, err error) {
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"start", &start}, {"end", &end}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		x, perr := strconv.ParseFloat(v, 64)
		if perr != nil || x < 0 {
			return nil, nil, fmt.Errorf("%s=%s: want seconds", f.name, v)
		}
		*f.dst = &x
	}
	if start != nil && end != nil && *end <= *start {
		return nil, nil, fmt.Errorf("the fragment ends (%gs) before it starts (%gs)", *end, *start)
	}
	return start, end, nil
}

func fragmentQuery(start, end *float64) string {
	v := url.Values{}
	if start != nil {
		v.Set("start", seconds(*start))
	}
	if end != nil {
		v.Set("end", seconds(*end))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// seconds writes a moment as record addresses and the player take it: 12, 12.5.
func seconds(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

// clock writes seconds as h:mm:ss or m:ss.
func clock(sec int) string {
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}
