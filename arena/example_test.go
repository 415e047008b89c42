package arena_test

import (
	"context"
	"fmt"

	"github.com/pith-project/pith/arena"
)

// One request's buffers come from an arena and are wiped when Do returns,
// whatever fn does.
func ExampleArena_Do() {
	a, err := arena.New(1<<20, arena.Options{AllowUnlocked: true})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	err = a.Do(func(a *arena.Arena) error {
		text := a.Bytes(64)
		copy(text, "decrypted request")
		logits := a.Float32s(1000)
		_ = logits
		fmt.Println("in use during the request:", a.Used() > 0)
		return nil
	})
	fmt.Println("error:", err, "- in use after:", a.Used())
	// Output:
	// in use during the request: true
	// error: <nil> - in use after: 0
}

// A server takes one arena per request from a bounded pool; TryGet fails
// fast when every arena is busy, for a 503.
func ExamplePool() {
	p, err := arena.NewPool(2, 1<<20, arena.Options{AllowUnlocked: true})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	a1, _ := p.TryGet()
	a2, _ := p.TryGet()
	_, err = p.TryGet()
	fmt.Println(err)
	p.Put(a1)
	p.Put(a2)
	err = p.Do(context.Background(), func(a *arena.Arena) error {
		copy(a.Bytes(5), "hello")
		return nil
	})
	fmt.Println(err, p.InUse())
	// Output:
	// arena: every arena is in use
	// <nil> 0
}
