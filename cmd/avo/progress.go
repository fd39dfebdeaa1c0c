package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// progressMode is how a long operation shows its progress.
type progressMode int

const (
	// progressTerminal redraws one line in place.
	progressTerminal progressMode = iota
	// progressPlain writes a line when it changed, at most every few
	// seconds (logs, CI).
	progressPlain
	// progressJSON writes a JSON object a line for every change.
	progressJSON
)

// progress shows a long operation's progress on stderr, so that stdout
// carries only its result (a table, a JSON document).
type progress struct {
	mode  progressMode
	out   io.Writer
	every time.Duration
	// last is the key of the last update written, at lastAt.
	last   string
	lastAt time.Time
	drawn  bool
}

// newProgress chooses the mode from --output and whether stderr is a
// terminal.
func (a *app) newProgress() *progress {
	mode := progressPlain
	if f, ok := a.errOut.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		mode = progressTerminal
	}
	if a.json() {
		mode = progressJSON
	}
	return &progress{mode: mode, out: a.errOut, every: 3 * time.Second}
}

// progressEvent is one update in JSON lines.
type progressEvent struct {
	At        time.Time `json:"at"`
	Operation string    `json:"operation"`
	Line      string    `json:"line"`
	Detail    any       `json:"detail"`
}

// update shows line (and, as JSON, detail) at now. Outside a terminal an
// update is written only when key (what it counted, not how long it ran)
// changed.
func (p *progress) update(now time.Time, operation, key, line string, detail any) {
	if key == p.last && p.mode != progressTerminal {
		return
	}
	switch p.mode {
	case progressTerminal:
		fmt.Fprintf(p.out, "\r\033[K%s", line)
		p.drawn = true
	case progressPlain:
		if !p.lastAt.IsZero() && now.Sub(p.lastAt) < p.every {
			return
		}
		fmt.Fprintln(p.out, line)
	case progressJSON:
		b, err := json.Marshal(progressEvent{At: now.UTC(), Operation: operation, Line: line, Detail: detail})
		if err != nil {
			return
		}
		fmt.Fprintf(p.out, "%s\n", b)
	}
	p.last, p.lastAt = key, now
}

// done clears a line drawn in place.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.out, "\r\033[K")
		p.drawn = false
	}
}

// harvestProgress is a running harvest's progress as JSON shows it.
type harvestProgress struct {
	Source      string           `json:"source"`
	Set         string           `json:"set,omitempty"`
	Page        int              `json:"page"`
	Counts      bucket.Counts    `json:"counts"`
	ListSize    int              `json:"list_size,omitempty"`
	Rate        float64          `json:"records_per_second"`
	Percent     *int             `json:"percent,omitempty"`
	ETASeconds  *float64         `json:"eta_seconds,omitempty"`
	Elapsed     float64          `json:"elapsed_seconds"`
	Retry       *workflows.Retry `json:"retry,omitempty"`
	Quarantined int              `json:"quarantined"`
}

// measure computes a running harvest's rate, share done and time to go.
func measure(st *workflows.HarvestState, now time.Time) harvestProgress {
	p := st.Progress
	out := harvestProgress{Source: p.Source, Set: p.Set, Page: p.Page, Counts: p.Counts, ListSize: p.ListSize,
		Retry: st.Retry, Quarantined: p.Counts.Quarantined}
	elapsed := now.Sub(p.StartedAt)
	out.Elapsed = elapsed.Seconds()
	if s := elapsed.Seconds(); s > 0 {
		out.Rate = float64(p.Counts.Records) / s
	}
	if p.ListSize > 0 && p.Counts.Records > 0 && p.Counts.Records <= p.ListSize {
		pct := 100 * p.Counts.Records / p.ListSize
		out.Percent = &pct
		if out.Rate > 0 {
			eta := float64(p.ListSize-p.Counts.Records) / out.Rate
			out.ETASeconds = &eta
		}
	}
	return out
}

// progressKey is what a running harvest counted: its progress changed
// when this did.
func progressKey(st *workflows.HarvestState) string {
	p := st.Progress
	key := fmt.Sprintf("%s %s %d %+v", p.Source, p.Set, p.Page, p.Counts)
	if r := st.Retry; r != nil {
		key += fmt.Sprintf(" retry %s %d", r.Activity, r.Attempt)
	}
	return key
}

// progressLine is a running harvest in one line: where it is, what it
// counted, how fast, how long it has run, how far along and how long still
// when the provider says how long its list is, and the step it is trying
// again, if any.
func progressLine(st *workflows.HarvestState, now time.Time) string {
	m := measure(st, now)
	size := ""
	if m.ListSize > 0 {
		size = fmt.Sprintf("/%d", m.ListSize)
	}
	c := m.Counts
	line := fmt.Sprintf("%s%s: page %d, %d%s records, %d indexed, %d deleted, %d quarantined, %d repaired, %.0f records/s, %s",
		m.Source, bucket.SetLabel(m.Set), m.Page, c.Records, size, c.Indexed, c.Deleted, c.Quarantined, c.Repaired, m.Rate,
		seconds(m.Elapsed).String())
	if m.Percent != nil {
		line += fmt.Sprintf(", %d%%", *m.Percent)
		if m.ETASeconds != nil {
			line += ", about " + seconds(*m.ETASeconds).String() + " to go"
		}
	}
	if r := st.Retry; r != nil {
		line += " — " + retryLine(r, now)
	}
	return line
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Second)
}
