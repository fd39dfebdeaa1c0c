package manifest

import (
	"container/heap"
	"context"
)

// Change is how an entry of a new listing compares with the manifest
// before it.
type Change int

// Changes a Differ reports.
const (
	Added Change = iota
	Changed
	Unchanged
	Removed
)

func (c Change) String() string {
	return [...]string{"added", "changed", "unchanged", "removed"}[c]
}

// Differ compares a new listing, pushed in key order, with an old
// manifest read alongside it: a streaming merge of two sorted lists.
type Differ struct {
	old  *Reader
	head *Entry // the old entry not yet compared
	done bool
	emit func(Change, Entry) error
}

// NewDiffer compares with old (nil: everything is added). emit hears
// every entry once: the new entry for added, changed and unchanged, the
// old one for removed.
func NewDiffer(old *Reader, emit func(Change, Entry) error) *Differ {
	return &Differ{old: old, done: old == nil, emit: emit}
}

func (d *Differ) peek(ctx context.Context) (*Entry, error) {
	if d.head == nil && !d.done {
		e, ok, err := d.old.Next(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			d.done = true
			return nil, nil
		}
		d.head = &e
	}
	return d.head, nil
}

// Push compares the next entry of the new listing.
func (d *Differ) Push(ctx context.Context, e Entry) error {
	for {
		old, err := d.peek(ctx)
		if err != nil {
			return err
		}
		switch {
		case old == nil || old.Key > e.Key:
			return d.emit(Added, e)
		case old.Key < e.Key:
			d.head = nil
			if err := d.emit(Removed, *old); err != nil {
				return err
			}
		default:
			d.head = nil
			// A browse copy that came or went changes the record too.
			if old.ETag != e.ETag || old.Size != e.Size || old.Media != e.Media {
				return d.emit(Changed, e)
			}
			return d.emit(Unchanged, e)
		}
	}
}

// Close reports what is left of the old manifest as removed.
func (d *Differ) Close(ctx context.Context) error {
	for {
		old, err := d.peek(ctx)
		if err != nil || old == nil {
			return err
		}
		d.head = nil
		if err := d.emit(Removed, *old); err != nil {
			return err
		}
	}
}

// Merge reads several sorted manifests as one sorted stream; a key that
// several hold comes once from each, in the order of readers.
func Merge(ctx context.Context, readers []*Reader, fn func(src int, e Entry) error) error {
	h := &mergeHeap{}
	pull := func(i int) error {
		e, ok, err := readers[i].Next(ctx)
		if err != nil || !ok {
			return err
		}
		heap.Push(h, mergeItem{e: e, src: i})
		return nil
	}
	for i := range readers {
		if err := pull(i); err != nil {
			return err
		}
	}
	for h.Len() > 0 {
		it := heap.Pop(h).(mergeItem)
		if err := fn(it.src, it.e); err != nil {
			return err
		}
		if err := pull(it.src); err != nil {
			return err
		}
	}
	return nil
}

type mergeItem struct {
	e   Entry
	src int
}

type mergeHeap []mergeItem

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].e.Key != h[j].e.Key {
		return h[i].e.Key < h[j].e.Key
	}
	return h[i].src < h[j].src
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(mergeItem)) }
func (h *mergeHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
