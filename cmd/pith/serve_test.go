package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
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
		timeout, writeTimeout, rotate       time.Duration
	}{
		{d.Queue, d.Concurrent, d.MaxContext, d.MaxConns, d.RequestTimeout, d.WriteTimeout, 24 * time.Hour},
		{1, 1, 1, 1, time.Second, time.Millisecond, 0}, // --rotate-keys 0: never
		{400, 1, 1, 0, time.Second, time.Hour, 0},      // --max-conns 0: the default, or the queue when larger (bench serve -c 200)
	}
	for _, tt := range tests {
		if err := checkServeLimits(tt.queue, tt.concurrent, tt.maxCtx, tt.maxConns, tt.timeout, tt.writeTimeout, tt.rotate); err != nil {
			t.Errorf("checkServeLimits%v: %v", tt, err)
		}
	}
}

// --write-timeout sets the server's Limits.WriteTimeout (beside the other
// limit flags, which keep their places), is listed in serve's help with
// its default, and a value the server cannot run with is a one-line
// usage error naming the flag.
func TestServeWriteTimeout(t *testing.T) {
	d := server.DefaultLimits()
	lim := serveLimits(3, 2, 100, 0, time.Minute, 7*time.Second)
	want := d
	want.Queue, want.Concurrent, want.MaxContext, want.MaxConns = 3, 2, 100, 0
	want.RequestTimeout, want.WriteTimeout, want.DefaultContext = time.Minute, 7*time.Second, 100
	if lim != want {
		t.Errorf("serveLimits: %+v, want %+v", lim, want)
	}
	var out, errb bytes.Buffer
	if code := runMain([]string{"serve", "--help"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "-write-timeout duration") || !strings.Contains(out.String(), "(default "+d.WriteTimeout.String()+")") {
		t.Errorf("pith serve --help: exit %d, no --write-timeout with its default:\n%s", code, out.String())
	}
	for _, tc := range []struct{ value, want string }{
		{"-1s", "--write-timeout -1s: give a positive duration"},
		{"0", "--write-timeout 0s: give a positive duration"},
		{"soon", `invalid value "soon" for flag -write-timeout`},
	} {
		var out, errb bytes.Buffer
		code := runMain([]string{"serve", "--write-timeout", tc.value}, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) || strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 {
			t.Errorf("pith serve --write-timeout %s: exit %d, stderr %q, want 2 and one line with %q", tc.value, code, errb.String(), tc.want)
		}
	}
}
