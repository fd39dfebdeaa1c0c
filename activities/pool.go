package activities

import "sync"

// writePool runs the pages' writes (a record to S3 and its documents to
// the writers) on goroutines that live as long as the worker. A goroutine
// a record would grow its stack, by copying, for every record: the S3
// client's calls run deep, and that copying was a sixth of a harvesting
// worker's time. A write never waits for a goroutine: when none is idle,
// one more starts, so the pool grows to the most writes the worker ever
// had going at once (its pages times their writers) and no page waits
// on another's.
type writePool struct {
	once sync.Once
	idle chan func()
}

func (p *writePool) submit(f func()) {
	p.once.Do(func() { p.idle = make(chan func()) })
	select {
	case p.idle <- f:
	default:
		go p.serve(f)
	}
}

func (p *writePool) serve(f func()) {
	for {
		f()
		f = <-p.idle
	}
}

// pageGroup is a page's share of the pool: at most limit of its writes at
// once, waited for together, the first error kept (as an errgroup).
type pageGroup struct {
	pool  *writePool
	slots chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
}

func newPageGroup(pool *writePool, limit int) *pageGroup {
	return &pageGroup{pool: pool, slots: make(chan struct{}, limit)}
}

// Go runs f on the pool, waiting while the page has limit writes going.
func (g *pageGroup) Go(f func() error) {
	g.slots <- struct{}{}
	g.wg.Add(1)
	g.pool.submit(func() {
		defer func() {
			<-g.slots
			g.wg.Done()
		}()
		if err := f(); err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
		}
	})
}

// Wait waits for the writes started so far and returns the first error.
func (g *pageGroup) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
