package activities

import "sync"

// writePool runs the pages' writes (a record to S3 and its documents to
// the writers) on goroutines that live as long as the worker. A goroutine
// a record would grow its stack, by copying, for every record: the S3
// client's calls run deep, and that copying was a sixth of a harvesting
// worker's time.
type writePool struct {
	once sync.Once
	work chan func()
}

// poolPages times a page's writers is the pool's size: the pages a worker
// runs at once (its activities, 4 by default) each get their writers;
// more pages share them.
const poolPages = 4

func (p *writePool) submit(size int, f func()) {
	p.once.Do(func() {
		p.work = make(chan func())
		for range size {
			go func() {
				for f := range p.work {
					f()
				}
			}()
		}
	})
	p.work <- f
}

// pageGroup is a page's share of the pool: at most limit of its writes at
// once, waited for together, the first error kept (as an errgroup).
type pageGroup struct {
	pool  *writePool
	size  int
	slots chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
}

func newPageGroup(pool *writePool, limit int) *pageGroup {
	return &pageGroup{pool: pool, size: limit * poolPages, slots: make(chan struct{}, limit)}
}

// Go runs f on the pool, waiting while the page has limit writes going.
// f must not call Go: it could wait for a goroutine of the pool forever.
func (g *pageGroup) Go(f func() error) {
	g.slots <- struct{}{}
	g.wg.Add(1)
	g.pool.submit(g.size, func() {
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
