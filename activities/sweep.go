package activities

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/bucket"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// MassDeleteShare is the share of a set's records a sweep may delete
// without the operator's --allow-mass-delete.
const MassDeleteShare = 0.15

// SweepInput closes a run of a source that does not report deletions.
type SweepInput struct {
	Source    string `json:"source"`
	Set       string `json:"set,omitempty"`
	HarvestID string `json:"harvest_id"`
	// Complete runs listed everything: what they did not see is gone.
	Complete        bool `json:"complete"`
	AllowMassDelete bool `json:"allow_mass_delete,omitempty"`
	// OtherSets of the source: a record still in one of them stays.
	OtherSets []string `json:"other_sets,omitempty"`
}

// SweepResult counts what the sweep did.
type SweepResult struct {
	Members         int `json:"members"`
	Removed         int `json:"removed"`
	KeptInOtherSets int `json:"kept_in_other_sets,omitempty"`
}

// Sweep updates a set's membership with what the run saw and, after a
// complete run, deletes the records it held but no longer saw, unless that
// is more than MassDeleteShare of them and the operator did not allow it.
// The identifier lists are held in memory (about 100 bytes a record).
func (h *Harvest) Sweep(ctx context.Context, in SweepInput) (SweepResult, error) {
	var out SweepResult
	present, deleted, err := h.seen(ctx, in)
	if err != nil {
		return out, err
	}
	prev, err := h.members(ctx, in.Source, in.Set)
	if err != nil {
		return out, err
	}
	members := map[string]bool{}
	if !in.Complete {
		for id := range prev {
			members[id] = true
		}
	}
	for id := range present {
		members[id] = true
	}
	for id := range deleted {
		delete(members, id)
	}
	if in.Complete {
		var gone []string
		for id := range prev {
			if !present[id] && !deleted[id] {
				gone = append(gone, id)
			}
		}
		slices.Sort(gone)
		if len(prev) > 0 && float64(len(gone)) > MassDeleteShare*float64(len(prev)) && !in.AllowMassDelete {
			msg := fmt.Sprintf("refusing to delete %d of the %d records of source %s%s (%.0f%%) that this complete harvest did not see: "+
				"more than %.0f%%; if the provider really removed them, harvest again with --full --allow-mass-delete",
				len(gone), len(prev), in.Source, bucket.SetLabel(in.Set), 100*float64(len(gone))/float64(len(prev)), 100*MassDeleteShare)
			return out, temporal.NewNonRetryableApplicationError(msg, ErrMassDelete, nil)
		}
		kept, err := h.inOtherSets(ctx, in, gone)
		if err != nil {
			return out, err
		}
		var del []string
		for _, id := range gone {
			if kept[id] {
				out.KeptInOtherSets++
				continue
			}
			del = append(del, id)
		}
		if out.Removed, err = h.deleteAll(ctx, in.Source, in.Set, del); err != nil {
			return out, err
		}
		h.log().Info("swept records the source no longer has", "source", in.Source, "set", in.Set, "removed", out.Removed, "kept_in_other_sets", out.KeptInOtherSets)
	}
	out.Members = len(members)
	return out, h.writeMembers(ctx, in.Source, in.Set, members)
}

// seen reads the identifiers the run's pages noted.
func (h *Harvest) seen(ctx context.Context, in SweepInput) (present, deleted map[string]bool, err error) {
	present, deleted = map[string]bool{}, map[string]bool{}
	prefix := bucket.Run{Source: in.Source, Set: in.Set, Harvest: in.HarvestID}.SeenPrefix()
	objs, err := h.Store.List(ctx, prefix)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range objs {
		obj, err := h.Store.Get(ctx, o.Key, 0)
		if err != nil {
			return nil, nil, err
		}
		for _, line := range strings.Split(string(obj.Body), "\n") {
			switch {
			case strings.HasPrefix(line, "+"):
				present[line[1:]] = true
			case strings.HasPrefix(line, "-"):
				deleted[line[1:]] = true
			}
		}
	}
	return present, deleted, nil
}

func (h *Harvest) members(ctx context.Context, source, set string) (map[string]bool, error) {
	out := map[string]bool{}
	body, err := h.Store.GetGzip(ctx, bucket.MembersKey(source, set))
	if s3store.IsNotFound(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			out[line] = true
		}
	}
	return out, sc.Err()
}

func (h *Harvest) writeMembers(ctx context.Context, source, set string, members map[string]bool) error {
	ids := make([]string, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return h.Store.PutGzip(ctx, bucket.MembersKey(source, set), []byte(strings.Join(ids, "\n")), "text/plain")
}

// inOtherSets returns which of ids another set of the source still holds.
func (h *Harvest) inOtherSets(ctx context.Context, in SweepInput, ids []string) (map[string]bool, error) {
	kept := map[string]bool{}
	if len(ids) == 0 {
		return kept, nil
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, other := range in.OtherSets {
		if other == in.Set {
			continue
		}
		body, err := h.Store.GetGzip(ctx, bucket.MembersKey(in.Source, other))
		if s3store.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		zr := bufio.NewReader(bytes.NewReader(body))
		for {
			line, err := zr.ReadString('\n')
			if id := strings.TrimSuffix(line, "\n"); want[id] {
				kept[id] = true
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return kept, nil
}

// deleteAll deletes records of a source from both indices and, once they
// confirmed, from S3, and returns how many.
func (h *Harvest) deleteAll(ctx context.Context, source, set string, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	idx, err := h.Index.NewWriter(ctx, esindex.Catalog)
	if err != nil {
		return 0, err
	}
	edu, err := h.Index.NewWriter(ctx, esindex.Education)
	if err != nil {
		_, _ = idx.Close(ctx)
		return 0, err
	}
	dels := deletions{h: h, source: source}
	for i, id := range ids {
		if err := dels.add(ctx, id); err != nil {
			_, _ = idx.Close(ctx)
			_, _ = edu.Close(ctx)
			return 0, err
		}
		if i%100 == 0 {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	err = dels.queue(ctx, idx, edu)
	res, cerr := idx.Close(ctx)
	eres, eerr := edu.Close(ctx)
	if err = errors.Join(err, cerr, eerr); err != nil {
		return 0, err
	}
	if n := res.Retryable + len(res.Rejected) + eres.Retryable + len(eres.Rejected); n > 0 {
		return 0, fmt.Errorf("deletes of %s%s: %d need another attempt: %s", source, bucket.SetLabel(set), n, res.RetryableReason+eres.RetryableReason)
	}
	if err := dels.removeRecords(ctx); err != nil {
		return 0, err
	}
	return len(ids), nil
}
