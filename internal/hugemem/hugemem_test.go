package hugemem

import (
	"runtime"
	"testing"
)

func TestMakeSizesAndZeroes(t *testing.T) {
	for _, n := range []int{0, 1, 4096, minBytes - 1, minBytes, minBytes + 12345, 3*Size + 1} {
		b := Make(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("Make(%d): len %d cap %d", n, len(b), cap(b))
		}
		for i, v := range b {
			if v != 0 {
				t.Fatalf("Make(%d)[%d] = %d, want 0", n, i, v)
			}
		}
		if n >= minBytes && alignOffset(b) != 0 && runtime.GOOS == "linux" {
			t.Errorf("Make(%d) starts %d bytes before a huge page boundary", n, Size-alignOffset(b))
		}
	}
}
