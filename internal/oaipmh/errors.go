package oaipmh

import (
	"fmt"
	"time"
)

// Protocol error codes (OAI-PMH 2.0, section 3.6).
const (
	BadArgument             = "badArgument"
	BadResumptionToken      = "badResumptionToken"
	BadVerb                 = "badVerb"
	CannotDisseminateFormat = "cannotDisseminateFormat"
	IDDoesNotExist          = "idDoesNotExist"
	NoRecordsMatch          = "noRecordsMatch"
	NoMetadataFormats       = "noMetadataFormats"
	NoSetHierarchy          = "noSetHierarchy"
)

// Error is an error the provider reported in the response body.
type Error struct {
	Code    string `xml:"code,attr" json:"code"`
	Message string `xml:",chardata" json:"message"`
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "OAI-PMH error " + e.Code
	}
	return fmt.Sprintf("OAI-PMH error %s: %s", e.Code, e.Message)
}

// Permanent reports whether asking again cannot help: the request itself is
// wrong for this provider. badResumptionToken is not permanent: the window
// restarts without the token. Unknown codes are treated as transient, since
// providers use them for their own temporary troubles.
func (e *Error) Permanent() bool {
	switch e.Code {
	case BadArgument, BadVerb, CannotDisseminateFormat, IDDoesNotExist, NoMetadataFormats, NoSetHierarchy:
		return true
	}
	return false
}

// HTTPError is a response with a status other than 200.
type HTTPError struct {
	URL    string
	Status int
	// RetryAfter is the provider's Retry-After, when it sent one.
	RetryAfter time.Duration
	Body       string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("HTTP %d from %s", e.Status, e.URL)
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Permanent reports whether the status means the request will never work:
// a 4xx other than 408 (timeout) and 429 (rate limit).
func (e *HTTPError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}
