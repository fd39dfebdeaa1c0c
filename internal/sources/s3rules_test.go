package sources

import (
	"strings"
	"testing"
)

func TestSelectorRules(t *testing.T) {
	s := S3{Bucket: "b", Prefix: "partner/", Rules: []Rule{
		{Match: "**/*.xml", Except: []string{"**/METS.xml", "**/metadata/**"}, Mapping: "mediahaven-sidecar"},
		{Match: "**/metadata/descriptive/dc+schema.xml", Mapping: "sip-dc-schema"},
		{Match: "records/*.json", Mapping: "mediahaven-json"},
	}}
	sel := s.Selector("")
	for key, want := range map[string]string{
		"partner/2024/vrt/abc.xml":                        "mediahaven-sidecar",
		"partner/abc.xml":                                 "mediahaven-sidecar",
		"partner/sip1/METS.xml":                           "",
		"partner/sip1/metadata/descriptive/dc+schema.xml": "sip-dc-schema",
		"partner/sip1/metadata/preservation/premis.xml":   "",
		"partner/records/r1.json":                         "mediahaven-json",
		"partner/records/deeper/r1.json":                  "",
		"partner/2024/vrt/abc.mp4":                        "",
		"partner/sip1/data/representations/1/video.mxf":   "",
	} {
		got, ok := sel.Mapping(key)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", key, got, ok, want)
		}
	}
	// Suffixes stay as they were: any case, the source's mapping.
	old := S3{Bucket: "b", Suffixes: []string{".xml"}}.Selector("oai_dc")
	if m, ok := old.Mapping("a/B.XML"); !ok || m != "oai_dc" {
		t.Errorf("suffix .xml on B.XML: %q %v", m, ok)
	}
	if _, ok := old.Mapping("a/b.mp4"); ok {
		t.Error("suffix .xml took an mp4")
	}
}

// Settings that would read essence, or that cannot be read, are refused
// before anything runs.
func TestS3SettingsThatWouldReadEssence(t *testing.T) {
	for yaml, says := range map[string]string{
		"suffixes: ['']":                                                        "would select more than metadata",
		"suffixes: [.mp4]":                                                      "selects essence",
		"suffixes: [mxf]":                                                       "would select more than metadata",
		"rules: [{match: '**/*'}]":                                              "no mapping",
		"rules: [{match: '**/*', mapping: oai_dc}]":                             "would select essence",
		"rules: [{match: '**/*.MP4', mapping: oai_dc}]":                         "would select essence",
		"rules: [{match: '**/[', mapping: oai_dc}]":                             "is not a glob",
		"rules: [{match: '**/*.xml', mapping: marc}]":                           "unknown mapping",
		"suffixes: [.xml]\n      rules: [{match: '**/*.xml', mapping: oai_dc}]": "go not together",
	} {
		src := "sources:\n  - id: b\n    kind: s3\n    s3:\n      bucket: x\n      " + yaml + "\n"
		_, err := Parse([]byte(src), env(nil), known)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want an error saying %q", yaml, err, says)
		}
	}
	ok := "sources:\n  - id: b\n    kind: s3\n    s3:\n      bucket: x\n      rules:\n        - {match: '**/*.xml', except: ['**/METS.xml'], mapping: mediahaven-sidecar}\n"
	if _, err := Parse([]byte(ok), env(nil), known); err != nil {
		t.Errorf("rules with mappings and no source mapping: %v", err)
	}
}
