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
