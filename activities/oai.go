package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// salvageAfter is the attempt from which an unparsable page is no longer
// fetched again whole but record by record: first the truncation may be
// passing, after that the page itself is broken.
const salvageAfter = 3

// oaiClient is the client for one provider, with its timeouts and
// credentials.
func (h *Harvest) oaiClient(src sources.Source) (*oaipmh.Client, error) {
	o := src.OAI
	if o == nil {
		return nil, temporal.NewNonRetryableApplicationError("source "+src.ID+" has no oai section", "BadSource", nil)
	}
	timeout := time.Duration(o.Timeout)
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	hc := oaipmh.NewHTTPClient(10*time.Second, timeout)
	hc.Transport = telemetry.TransportBy(hc.Transport, providerLatency, "oai-pmh", func(r *http.Request) []attribute.KeyValue {
		return []attribute.KeyValue{attribute.String("verb", r.URL.Query().Get("verb")), attribute.String("source", src.ID)}
	})
	c := &oaipmh.Client{BaseURL: o.URL, HTTP: hc, UserAgent: h.UserAgent}
	if o.AuthHeader != "" {
		v, ok := os.LookupEnv(o.AuthEnv)
		if !ok {
			err := fmt.Errorf("source %s: environment variable %s (for the %s header) is not set on this worker", src.ID, o.AuthEnv, o.AuthHeader)
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadSource", nil)
		}
		c.Header = http.Header{o.AuthHeader: {v}}
	}
	return c, nil
}

func (h *Harvest) fetchOAI(ctx context.Context, in PageInput, w *pageWriter, res *PageResult) error {
	client, err := h.oaiClient(in.Source)
	if err != nil {
		return err
	}
	sink, err := newRawSink()
	if err != nil {
		return err
	}
	defer sink.close()
	w.rawKey = in.run().RawPageKey(in.Page, "xml")
	res.RawKey = w.rawKey
	args := oaipmh.ListArgs{MetadataPrefix: in.Source.OAI.MetadataPrefix, Set: in.Set, From: in.From, Until: in.Until, Token: in.Cursor}
	info, rep, err := client.List(ctx, "ListRecords", args, sink, func(r oaipmh.Record) error {
		return w.add(ctx, oaiItem(r))
	})
	res.Counts.Repaired += rep.Total()
	if errors.Is(err, oaipmh.ErrMalformedResponse) {
		// Keep what came, for whoever looks into it.
		if uerr := sink.upload(ctx, h.Store, w.rawKey, "text/xml"); uerr != nil {
			return uerr
		}
		if activity.GetInfo(ctx).Attempt < salvageAfter {
			return fmt.Errorf("source %s page %d is unparsable (kept at %s; from attempt %d its records are fetched one by one): %w",
				in.Source.ID, in.Page, h.Store.URI(w.rawKey), salvageAfter, err)
		}
		return h.salvage(ctx, client, in, w, res, sink, err)
	}
	if err != nil {
		return classifyOAI(in, err)
	}
	if err := sink.upload(ctx, h.Store, w.rawKey, "text/xml"); err != nil {
		return err
	}
	res.Next, res.ResponseDate, res.ListSize = info.Token.Value, info.ResponseDate, info.Token.CompleteListSize
	return nil
}

func oaiItem(r oaipmh.Record) rawItem {
	it := rawItem{identifier: r.Header.Identifier, datestamp: r.Header.Datestamp, deleted: r.Header.Deleted, body: r.Metadata}
	if r.Problem != "" {
		it.problem, it.deleted = errors.New(r.Problem), false
	}
	return it
}

var (
	headerIdentifier = regexp.MustCompile(`(?s)<(?:[A-Za-z_][\w.-]*:)?header\b([^>]*)>.*?<(?:[A-Za-z_][\w.-]*:)?identifier>\s*([^<]+?)\s*</`)
	tokenElement     = regexp.MustCompile(`(?s)<(?:[A-Za-z_][\w.-]*:)?resumptionToken\b[^>]*>\s*([^<]*?)\s*</`)
	responseDate     = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?responseDate>\s*([^<]+?)\s*</`)
	documentEnd      = regexp.MustCompile(`</(?:[A-Za-z_][\w.-]*:)?OAI-PMH>\s*$`)
)

// getRecordAttempts bounds the tries of one record's GetRecord during
// salvage; a record that still fails is quarantined and the list goes on.
const getRecordAttempts = 3

// getRecord fetches one record for salvage, trying a transient failure
// again after a pause that doubles (from RetryBase, 1s by default).
func (h *Harvest) getRecord(ctx context.Context, client *oaipmh.Client, in PageInput, id string) (oaipmh.Record, error) {
	pause := in.RetryBase
	if pause <= 0 {
		pause = time.Second
	}
	for attempt := 1; ; attempt++ {
		rec, err := client.GetRecord(ctx, id, in.Source.OAI.MetadataPrefix)
		if err == nil || attempt == getRecordAttempts || errors.Is(err, oaipmh.ErrMalformedResponse) || permanentOAI(err) || ctx.Err() != nil {
			return rec, err
		}
		activity.RecordHeartbeat(ctx, in.Page)
		if err := sleep(ctx, pause); err != nil {
			return rec, err
		}
		pause *= 2
	}
}

// permanentOAI reports an OAI-PMH or HTTP error that asking again cannot
// cure.
func permanentOAI(err error) bool {
	var oe *oaipmh.Error
	var he *oaipmh.HTTPError
	return errors.As(err, &oe) && oe.Permanent() || errors.As(err, &he) && he.Permanent()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// salvage takes an unparsable page apart without a parser: the
// identifiers in its headers are fetched one at a time with GetRecord, and
// its resumption token, when the page is complete, continues the list. A
// record that fails even alone (unparsable, unknown to GetRecord, or
// failing again and again) is quarantined with the reason.
func (h *Harvest) salvage(ctx context.Context, client *oaipmh.Client, in PageInput, w *pageWriter, res *PageResult, sink *rawSink, cause error) error {
	body, err := sink.contents()
	if err != nil {
		return err
	}
	complete := documentEnd.Match(body)
	next := ""
	if m := tokenElement.FindSubmatch(body); m != nil {
		next = string(m[1])
	}
	if !complete && next == "" {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"source %s page %d stays truncated after %d attempts and holds no resumption token to go on from (kept at %s): %v",
			in.Source.ID, in.Page, salvageAfter, h.Store.URI(w.rawKey), cause), "UnparsablePage", cause)
	}
	ids := headerIdentifier.FindAllSubmatch(body, -1)
	h.log().Warn("salvaging an unparsable page record by record", "source", in.Source.ID, "page", in.Page,
		"identifiers", len(ids), "cause", cause.Error())
	var delay time.Duration
	if in.Source.OAI != nil {
		delay = time.Duration(in.Source.OAI.Delay)
	}
	for i, m := range ids {
		id := strings.TrimSpace(string(m[2]))
		if strings.Contains(string(m[1]), `status="deleted"`) {
			if err := w.add(ctx, rawItem{identifier: id, deleted: true}); err != nil {
				return err
			}
			continue
		}
		if i > 0 && delay > 0 {
			if err := sleep(ctx, delay); err != nil {
				return err
			}
		}
		rec, err := h.getRecord(ctx, client, in, id)
		var it rawItem
		var oe *oaipmh.Error
		switch {
		case err == nil:
			it = oaiItem(rec)
			it.identifier = id
		case errors.Is(err, oaipmh.ErrMalformedResponse):
			it = rawItem{identifier: id, problem: fmt.Errorf("unparsable, alone as well as in its page: %w", err)}
		case errors.As(err, &oe) && oe.Code == oaipmh.IDDoesNotExist:
			it = rawItem{identifier: id, problem: fmt.Errorf("the page lists it but GetRecord does not know it: %w", err)}
		case permanentOAI(err):
			// The provider refuses the request itself (a format it no
			// longer offers): no record of the run would fare better.
			return classifyOAI(in, err)
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			it = rawItem{identifier: id, problem: fmt.Errorf("GetRecord kept failing (%d attempts): %w", getRecordAttempts, err)}
		}
		if err := w.add(ctx, it); err != nil {
			return err
		}
		w.count(func(c *bucket.Counts) { c.Salvaged++ })
		if i%10 == 0 {
			activity.RecordHeartbeat(ctx, in.Page)
		}
	}
	res.Next = next
	if m := responseDate.FindSubmatch(body); m != nil {
		res.ResponseDate = string(m[1])
	}
	return nil
}
