package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/kernels"
)

func TestRunKernels(t *testing.T) {
	r := NewReport(Env{})
	before := kernels.Path()
	err := RunKernels(context.Background(), r, KernelOptions{
		Types: []string{"Q8_0", "Q4_0", "Q8_1"}, Threads: []int{1, 2}, Reps: 2,
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
	// Q8_1 is an activation format only: a note, not a failure.
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "Q8_1") {
		t.Errorf("notes %q", r.Notes)
	}
	if err := RunKernels(context.Background(), r, KernelOptions{Types: []string{"Q9_9"}}); err == nil {
		t.Error("unknown type accepted")
	}
}
