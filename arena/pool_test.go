package arena

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The pool is bounded: with every arena out, TryGet fails fast and Get
// waits until its context ends; a Put wakes a waiter with a wiped arena.
func TestPoolBounded(t *testing.T) {
	p, err := NewPool(2, 64<<10, Options{AllowUnlocked: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	a1, err1 := p.Get(ctx)
	a2, err2 := p.Get(ctx)
	if err1 != nil || err2 != nil || a1 == a2 {
		t.Fatalf("Get: %v %v (same arena twice: %v)", err1, err2, a1 == a2)
	}
	if _, err := p.TryGet(); !errors.Is(err, ErrBusy) {
		t.Fatalf("TryGet on a full pool: %v, want ErrBusy", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := p.Get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get on a full pool: %v, want the deadline", err)
	}
	copy(a1.Bytes(8), "SECRET!!")
	got := make(chan *Arena)
	go func() {
		a, err := p.Get(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- a
	}()
	time.Sleep(10 * time.Millisecond)
	p.Put(a1)
	a3 := <-got
	if a3.Used() != 0 || string(a3.Bytes(8)) != "\x00\x00\x00\x00\x00\x00\x00\x00" {
		t.Fatal("an arena came back from the pool unwiped")
	}
	if p.InUse() != 2 {
		t.Fatalf("InUse %d, want 2", p.InUse())
	}
	p.Put(a3)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("putting an arena twice did not panic")
			}
		}()
		p.Put(a3)
	}()
	p.Put(a2)
	if p.InUse() != 0 {
		t.Fatalf("InUse %d after putting everything back", p.InUse())
	}
}

// Concurrent requests through Pool.Do never share an arena, and the pool
// never hands out more arenas than it has.
func TestPoolDoConcurrent(t *testing.T) {
	const n = 3
	p, err := NewPool(n, 64<<10, Options{AllowUnlocked: true})
	if err != nil {
		t.Fatal(err)
	}
	var inUse, peak atomic.Int32
	var owners sync.Map
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for range 50 {
				err := p.Do(context.Background(), func(a *Arena) error {
					if _, loaded := owners.LoadOrStore(a, w); loaded {
						t.Error("one arena in two requests at once")
					}
					cur := inUse.Add(1)
					for {
						old := peak.Load()
						if cur <= old || peak.CompareAndSwap(old, cur) {
							break
						}
					}
					b := a.Bytes(1000)
					for i := range b {
						if b[i] != 0 {
							t.Error("dirty arena")
							break
						}
						b[i] = byte(w + 1)
					}
					inUse.Add(-1)
					owners.Delete(a)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if peak.Load() > n {
		t.Fatalf("%d arenas in use at once from a pool of %d", peak.Load(), n)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}
