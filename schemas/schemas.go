// Package schemas holds the definitions other systems read: Elasticsearch
// index settings and mappings (and, as they come, the education profile's
// JSON Schema and the OAI-PMH output formats). They ship inside the binary.
package schemas

import "embed"

// Elasticsearch holds the index body (settings and mappings) of avo's
// indices, elasticsearch/items.json, the same JSON a production cluster
// accepts. The catalog (everything mapped) and the education index (what
// teachers may see) hold the same documents, so they share it.
//
//go:embed elasticsearch/*.json
var Elasticsearch embed.FS

// EducationProfile is the JSON Schema (2020-12) of a mapped record.
//
//go:embed education-profile.schema.json
var EducationProfile []byte
