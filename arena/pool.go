package arena

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrBusy is TryGet's answer when every arena is in use: the server turns
// it into 503 with Retry-After.
var ErrBusy = errors.New("arena: every arena is in use")

// Pool is a fixed set of arenas, one per concurrent request: it bounds the
// memory requests can take, and all of it is mapped and locked at start-up,
// so a lock limit shows up at boot rather than under load.
type Pool struct {
	free chan *Arena
	size int

	mu     sync.Mutex
	closed bool
	all    []*Arena
}

// NewPool makes n arenas of size bytes each.
func NewPool(n, size int, opts Options) (*Pool, error) {
	if n <= 0 {
		return nil, fmt.Errorf("arena: pool of %d arenas", n)
	}
	p := &Pool{free: make(chan *Arena, n), size: size}
	for i := range n {
		a, err := New(size, opts)
		if err != nil {
			for _, b := range p.all {
				b.Close()
			}
			return nil, fmt.Errorf("arena: pool arena %d of %d: %w", i+1, n, err)
		}
		a.pool = p
		p.all = append(p.all, a)
		p.free <- a
	}
	return p, nil
}

// Cap is the number of arenas; InUse how many are handed out now.
func (p *Pool) Cap() int   { return cap(p.free) }
func (p *Pool) InUse() int { return cap(p.free) - len(p.free) }

// Locked reports whether every arena of the pool is locked.
func (p *Pool) Locked() bool {
	for _, a := range p.all {
		if !a.Locked() {
			return false
		}
	}
	return true
}

// Get waits for a free arena until ctx is done.
func (p *Pool) Get(ctx context.Context) (*Arena, error) {
	select {
	case a, ok := <-p.free:
		return p.out(a, ok)
	default:
	}
	select {
	case a, ok := <-p.free:
		return p.out(a, ok)
	case <-ctx.Done():
		return nil, fmt.Errorf("arena: waiting for a free arena: %w", context.Cause(ctx))
	}
}

// TryGet returns a free arena at once, or ErrBusy.
func (p *Pool) TryGet() (*Arena, error) {
	select {
	case a, ok := <-p.free:
		return p.out(a, ok)
	default:
		return nil, ErrBusy
	}
}

func (p *Pool) out(a *Arena, ok bool) (*Arena, error) {
	if !ok {
		return nil, ErrClosed
	}
	a.out = true
	return a, nil
}

// Put wipes a and gives it back. Put of an arena after Close closes it.
// Putting an arena this pool did not hand out, or putting it twice, is a
// bug that would let two requests share memory: Put panics.
func (p *Pool) Put(a *Arena) {
	if a.pool != p || !a.out {
		panic("arena: Put of an arena that is not out of this pool")
	}
	a.out = false
	a.Wipe()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		a.Close()
		return
	}
	p.free <- a
}

// Do runs fn in a free arena (waiting for one until ctx is done) and wipes
// it on every path, as Arena.Do does.
func (p *Pool) Do(ctx context.Context, fn func(a *Arena) error) error {
	a, err := p.Get(ctx)
	if err != nil {
		return err
	}
	defer p.Put(a)
	return a.Do(fn)
}

// Close wipes and unmaps the free arenas; arenas still in use are closed
// when they are Put back. Get after Close returns ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.free)
	var errs []error
	for a := range p.free {
		errs = append(errs, a.Close())
	}
	return errors.Join(errs...)
}
