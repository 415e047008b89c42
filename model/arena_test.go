package model_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/model"
)

// A summary runs wholly inside a request arena (the model's Allocator), and
// the arena's wipe leaves no byte of it: the arena held the request's data
// while it ran, and holds only zeros after.
func TestSummarizeInArenaLeavesNothing(t *testing.T) {
	_, m := synthFile(t, t.TempDir(), "tiny-qwen2", "q8_0")
	a, err := arena.New(64<<20, arena.Options{AllowUnlocked: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	conv := []model.Message{{From: "Ann", Text: "the secret word is PITHCANARY42"}, {From: "Bo", Text: "noted"}}
	var out bytes.Buffer
	var usedDuring int
	err = a.Do(func(a *arena.Arena) error {
		_, err := m.Summarize(context.Background(), conv, 20, a, func(b []byte) error { out.Write(b); return nil })
		usedDuring = a.Used()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if usedDuring == 0 || out.Len() == 0 {
		t.Fatalf("nothing ran in the arena (used %d, output %d bytes)", usedDuring, out.Len())
	}
	if a.Used() != 0 {
		t.Fatalf("arena still reports %d bytes in use", a.Used())
	}
	probe := a.Bytes(a.Size() - 64)
	for i, c := range probe {
		if c != 0 {
			t.Fatalf("byte %d of the arena is %#x after the wipe", i, c)
		}
	}
}

// StateBytes and GenerateBytes are what NewState and Generate take from a
// request arena: never less (a server sizing its arenas by them would run
// out mid-request), and more only by the cache-line rounding of the
// allocations.
func TestStateAndGenerateBytes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		typ   string
		cache model.CacheType
	}{{"q8_0", model.CacheF16}, {"f16", model.CacheF16}, {"q8_0", model.CacheF32}} { // F16 weights need the rounding buffer too
		typ := tc.typ + "/" + tc.cache.String()
		_, m := synthFile(t, dir, "tiny-qwen2", tc.typ)
		m.Cache = tc.cache
		a, err := arena.New(64<<20, arena.Options{AllowUnlocked: true})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for _, c := range []struct{ ctx, batch int }{{1, 1}, {17, 3}, {512, 256}, {1000, 1}} {
			a.Do(func(a *arena.Arena) error {
				m.NewState(a, c.ctx, c.batch)
				if want := m.StateBytes(c.ctx, c.batch); a.Used() > want || a.Used() < want-64 {
					t.Errorf("%s ctx %d batch %d: NewState took %d bytes, StateBytes says %d", typ, c.ctx, c.batch, a.Used(), want)
				}
				return nil
			})
		}
		opts := model.DefaultOptions()
		opts.NumCtx, opts.NumPredict, opts.Stop = 300, 4, []string{"zz", "a much longer stop"}
		prompt := make([]int32, 280) // more than one GenerateBatch
		for i := range prompt {
			prompt[i] = int32(100 + i)
		}
		err = a.Do(func(a *arena.Arena) error {
			_, err := m.Generate(context.Background(), prompt, opts, a, 1, func([]byte) error { return nil })
			if want := m.GenerateBytes(opts.NumCtx, opts.Stop); a.Used() > want || a.Used() < want-64*64 {
				t.Errorf("%s: Generate took %d bytes, GenerateBytes says %d", typ, a.Used(), want)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
