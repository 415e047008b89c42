package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/runtime/server"
)

// describeModel reports the SHA-256 of the model file, which a client
// checks, on every kernel path: also where Load has rewritten weights in
// the private copy of the mapping (openModel maps the file when no digest
// is given), so that hashing the mapped data would report another digest.
func TestDescribeModelHashesTheFile(t *testing.T) {
	defer kernels.SetPath(kernels.Path())
	path := tinyBenchModel(t)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	want := hex.EncodeToString(sum[:])
	rewritten := 0
	for _, p := range kernels.Paths() {
		if err := kernels.SetPath(p); err != nil {
			t.Fatal(err)
		}
		m, err := openModel(path, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(m.File.Rewritten) > 0 {
			rewritten++
			if bytes.Equal(m.File.Data, raw) {
				t.Fatalf("%s: Load notes %d rewritten tensors, but the mapping equals the file", p, len(m.File.Rewritten))
			}
		}
		info, err := describeModel(path, m)
		if err != nil {
			t.Fatal(err)
		}
		if info.sha256 != want {
			t.Errorf("%s: digest %s, the file's is %s (%d tensors rewritten)", p, info.sha256, want, len(m.File.Rewritten))
		}
		if err := m.File.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, raw) {
		t.Fatalf("the model file changed on disk (%v)", err)
	}
	t.Logf("%d of %d paths rewrote weights", rewritten, len(kernels.Paths()))
}

// The limits serve's defaults and documented values give pass the check
// that refuses bad ones (TestUsageErrors covers those).
func TestCheckServeLimitsAcceptsGoodValues(t *testing.T) {
	d := server.DefaultLimits()
	tests := []struct {
		queue, concurrent, maxCtx, maxConns int
		timeout, rotate                     time.Duration
	}{
		{d.Queue, d.Concurrent, d.MaxContext, d.MaxConns, d.RequestTimeout, 24 * time.Hour},
		{1, 1, 1, 1, time.Second, 0},   // --rotate-keys 0: never
		{400, 1, 1, 0, time.Second, 0}, // --max-conns 0: the default, or the queue when larger (bench serve -c 200)
	}
	for _, tt := range tests {
		if err := checkServeLimits(tt.queue, tt.concurrent, tt.maxCtx, tt.maxConns, tt.timeout, tt.rotate); err != nil {
			t.Errorf("checkServeLimits%v: %v", tt, err)
		}
	}
}
