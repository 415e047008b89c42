package bench

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/kernels"
)

// unsupportedType is a format the kernels know but cannot compute with
// (an activation-only one), or "" when there is none left.
func unsupportedType() string {
	for _, name := range []string{"Q8_1", "Q8_K", "I8", "I16", "I32"} {
		if typ, err := kernels.ParseType(name); err == nil {
			if _, _, err := testMatrices(typ, 256, 1<<16, rand.New(rand.NewPCG(1, 1))); err != nil {
				return name
			}
		}
	}
	return ""
}

func TestRunKernels(t *testing.T) {
	r := NewReport(Env{})
	before := kernels.Path()
	types := []string{"Q8_0", "Q4_0"}
	skip := unsupportedType()
	if skip != "" {
		types = append(types, skip)
	}
	err := RunKernels(context.Background(), r, KernelOptions{
		Types: types, Threads: []int{1, 2}, Reps: 2,
		MinTime: time.Millisecond, Cols: 256, BigBytes: 1 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if kernels.Path() != before {
		t.Fatalf("path left at %q, was %q", kernels.Path(), before)
	}
	for _, path := range kernels.Paths() {
		for _, typ := range []string{"Q8_0", "Q4_0"} {
			for _, k := range []Key{
				{SuiteKernels, SystemPith, "", "matvec-l2 " + typ, 1, path, UnitGFLOPS},
				{SuiteKernels, SystemPith, "", "matvec " + typ, 1, path, UnitGBPerSec},
				{SuiteKernels, SystemPith, "", "matvec " + typ, 2, path, UnitGBPerSec},
			} {
				f := r.Find(k)
				if f == nil || len(f.Samples) != 2 || f.Min <= 0 {
					t.Errorf("%s: %+v", k, f)
				}
			}
		}
	}
	// A format the kernels cannot compute with is a note, not a failure.
	if skip != "" && (len(r.Notes) != 1 || !strings.Contains(r.Notes[0], skip)) {
		t.Errorf("notes %q", r.Notes)
	}
	if err := RunKernels(context.Background(), r, KernelOptions{Types: []string{"Q9_9"}}); err == nil {
		t.Error("unknown type accepted")
	}
}
