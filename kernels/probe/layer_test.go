package probe

import (
	"testing"
	"time"
)

func TestLayerRead(t *testing.T) {
	o := Options{Threads: 2, Bytes: 16 << 20, Repeats: 1, MinTime: 5 * time.Millisecond}
	for _, c := range []struct {
		name     string
		products []int
		ok       bool
	}{
		{"layer", []int{580 << 10, 450 << 10, 4 << 20, 2 << 20}, true},
		{"uneven sizes", []int{3*readStep + 17, 1<<20 + 5}, true},
		{"one product", []int{1 << 20}, true},
		{"none", nil, false},
		{"less than a step a thread", []int{1 << 20, readStep}, false},
		{"larger than the buffer", []int{32 << 20}, false},
		{"negative", []int{-1}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := LayerRead(o, c.products)
			if c.ok && !(got > 0.1) || !c.ok && got != 0 {
				t.Errorf("LayerRead(%v) = %v GB/s", c.products, got)
			}
		})
	}
}
