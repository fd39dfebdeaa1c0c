package bucket

import "time"

// QuarantineRef points at a quarantined record.
type QuarantineRef struct {
	Key  string `json:"key"`
	Kind string `json:"kind"` // unreadable, unmappable, invalid, index-rejected
	// Rules broken, when the record mapped but is invalid.
	Rules  []string `json:"rules,omitempty"`
	Reason string   `json:"reason"`
}

// QuarantineEntry is what the quarantine keeps of a record: enough to see
// why without going back to the source.
type QuarantineEntry struct {
	Source     string   `json:"source"`
	Set        string   `json:"set,omitempty"`
	Harvest    string   `json:"harvest"`
	Page       int      `json:"page"`
	Identifier string   `json:"identifier"`
	Kind       string   `json:"kind"`
	Errors     []string `json:"errors"`
	RawPage    string   `json:"raw_page"`
	Raw        string   `json:"raw,omitempty"`
	Document   string   `json:"document,omitempty"` // what Elasticsearch refused
	// Rules broken, for records that mapped but are invalid.
	Rules []string  `json:"rules,omitempty"`
	At    time.Time `json:"at"`
}
