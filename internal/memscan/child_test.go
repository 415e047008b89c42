package memscan

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const childEnv = "PITH_MEMSCAN_CHILD"

// canaryChild is the process under scan. It reads a 32-byte ASCII canary
// from stdin straight into an mmap'd region (so no other buffer ever holds
// it), copies it to the Go heap raw, as UTF-16LE and as token ids, reports
// the region's address, and waits: on "z" it zeroes every copy and says
// so, on end of input it exits.
func canaryChild() {
	m, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		fmt.Println("mmap:", err)
		os.Exit(1)
	}
	c := m[4096 : 4096+32]
	if _, err := io.ReadFull(os.Stdin, c); err != nil {
		fmt.Println("read canary:", err)
		os.Exit(1)
	}
	// A copy behind PROT_NONE, as memory a process put away rather than
	// wiped would be: /proc/PID/mem still reads it.
	hidden, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		fmt.Println("mmap:", err)
		os.Exit(1)
	}
	copy(hidden[64:], c)
	if err := unix.Mprotect(hidden, unix.PROT_NONE); err != nil {
		fmt.Println("mprotect:", err)
		os.Exit(1)
	}
	heap := make([]byte, 32)
	copy(heap, c)
	u16 := make([]byte, 64)
	toks := make([]int32, 32)
	for i, b := range c {
		u16[2*i] = b
		toks[i] = childToken(b, i)
	}
	fmt.Printf("READY %x %x\n", uintptr(unsafePointer(m)), uintptr(unsafePointer(hidden)))
	var cmd [1]byte
	for {
		if _, err := os.Stdin.Read(cmd[:]); err != nil {
			os.Exit(0)
		}
		if cmd[0] == 'z' {
			clear(m)
			if err := unix.Mprotect(hidden, unix.PROT_READ|unix.PROT_WRITE); err != nil {
				fmt.Println("mprotect:", err)
				os.Exit(1)
			}
			clear(hidden)
			clear(heap)
			clear(u16)
			clear(toks)
			fmt.Println("ZEROED")
		}
		runtime.KeepAlive(heap)
		runtime.KeepAlive(u16)
		runtime.KeepAlive(toks)
	}
}

func childToken(b byte, i int) int32 { return int32(b)*7919 + int32(i) }

type child struct {
	*Child
	mem uint64
	// hidden is a page, mapped PROT_NONE, that holds the canary at +64.
	hidden uint64
}

// startChild starts the canary child with extra environment and sends it
// the canary.
func startChild(t *testing.T, canary []byte, env ...string) *child {
	t.Helper()
	c := &child{Child: StartChild(t, "TestChildEntry", append([]string{childEnv + "=1"}, env...)...)}
	if _, err := c.In.Write(canary); err != nil {
		t.Fatal(err)
	}
	line := c.expect(t, "READY ")
	var mem, hidden string
	if _, err := fmt.Sscanf(line, "READY %s %s", &mem, &hidden); err != nil {
		t.Fatalf("child said %q", line)
	}
	var err error
	if c.mem, err = strconv.ParseUint(mem, 16, 64); err != nil {
		t.Fatalf("child said %q", line)
	}
	if c.hidden, err = strconv.ParseUint(hidden, 16, 64); err != nil {
		t.Fatalf("child said %q", line)
	}
	return c
}

func (c *child) expect(t *testing.T, prefix string) string {
	t.Helper()
	line := c.Line(t)
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("child: %q (want %q)", line, prefix)
	}
	return line
}

func (c *child) zero(t *testing.T) {
	t.Helper()
	if _, err := c.In.Write([]byte("z")); err != nil {
		t.Fatal(err)
	}
	c.expect(t, "ZEROED")
}

// TestChildEntry is the child's entry point when re-executed; run
// directly it does nothing.
func TestChildEntry(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		canaryChild()
	}
}

func newCanary(t *testing.T) ([]byte, []Needle) {
	raw := make([]byte, 16)
	rand.Read(raw)
	canary := []byte(hex.EncodeToString(raw))
	toks := make([]int32, len(canary))
	for i, b := range canary {
		toks[i] = childToken(b, i)
	}
	needles := append(Encodings("canary", canary), Needle{Name: "canary/tokens", Bytes: Int32LE(toks)})
	return canary, needles
}

// The scan finds a canary a live process holds in its heap, in an mmap'd
// region (at the address the process reports), in a page mapped PROT_NONE
// (unless told to skip unreadable regions), as UTF-16 and as token ids;
// once the process has zeroed those copies, it finds nothing.
func TestScanChildProcess(t *testing.T) {
	canary, needles := newCanary(t)
	c := startChild(t, canary)
	res := c.Scan(t, needles, Options{})
	t.Logf("before zeroing: %s", res)
	if res.Counts[0] < 2 || res.Counts[1] < 1 || res.Counts[2] < 1 {
		t.Fatalf("counts %v: want raw in heap and mmap, UTF-16 and tokens", res.Counts)
	}
	inMmap, inHidden := false, false
	for _, h := range res.Hits {
		inMmap = inMmap || (h.Needle == 0 && h.Addr == c.mem+4096)
		inHidden = inHidden || (h.Needle == 0 && h.Addr == c.hidden+64 && h.Perms == "---p")
	}
	if !inMmap {
		t.Fatalf("no raw hit at the mmap'd copy %#x: %+v", c.mem+4096, res.Hits)
	}
	if !inHidden {
		t.Fatalf("no raw hit at the copy behind PROT_NONE %#x: %+v", c.hidden+64, res.Hits)
	}
	// And that copy is what SkipUnreadable leaves out.
	skipping := c.Scan(t, needles, Options{SkipUnreadable: true})
	if skipping.Counts[0] != res.Counts[0]-1 {
		t.Fatalf("SkipUnreadable: %d raw hits, want %d (all but the PROT_NONE copy)", skipping.Counts[0], res.Counts[0]-1)
	}
	if res.BytesScanned < 1<<20 {
		t.Fatalf("only %d bytes scanned", res.BytesScanned)
	}
	c.zero(t)
	start := time.Now()
	res = c.Scan(t, needles, Options{})
	took := time.Since(start)
	t.Logf("after zeroing: %s, in %v", res, took)
	for _, s := range res.Skipped {
		t.Logf("skipped %s [%#x,%#x): %v", s.Region, s.Start, s.End, s.Err)
	}
	if res.Total() != 0 {
		t.Fatalf("%d hits after the child zeroed its copies: %+v", res.Total(), res.Hits)
	}
}

func TestScanRefusesSelf(t *testing.T) {
	if _, err := Scan(os.Getpid(), []Needle{{Name: "x", Bytes: []byte("x")}}, Options{}); err == nil {
		t.Fatal("scanned its own process")
	}
}

// exitChildEnv selects how TestExitChild ends once its input closes.
const exitChildEnv = "PITH_MEMSCAN_EXIT_CHILD"

// TestExitChild is a child that says READY and, at the end of its input,
// exits with status 0 ("ok") or 3 ("fail"), or never exits ("hang"). Run
// directly it does nothing.
func TestExitChild(t *testing.T) {
	mode := os.Getenv(exitChildEnv)
	if mode == "" {
		return
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
	switch mode {
	case "fail":
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour)
	}
	os.Exit(0)
}

// cleanupTB records what StartChild's cleanup reports, and runs the
// cleanups when told to rather than at the end of the real test.
type cleanupTB struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (c *cleanupTB) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

// runCleanups runs the recorded cleanups once, last first.
func (c *cleanupTB) runCleanups() {
	for len(c.cleanups) > 0 {
		f := c.cleanups[len(c.cleanups)-1]
		c.cleanups = c.cleanups[:len(c.cleanups)-1]
		f()
	}
}
func (c *cleanupTB) Errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// A child that exits with an error, or does not exit, fails the test that
// started it: its scan may have looked at a process that went wrong.
func TestStartChildExitStatus(t *testing.T) {
	defer func(g time.Duration) { childGrace = g }(childGrace)
	for _, tc := range []struct {
		mode, want string
		grace      time.Duration
	}{
		{"ok", "", 10 * time.Second},
		{"fail", "exit status 3", 10 * time.Second},
		{"hang", "killed", time.Second},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			rec := &cleanupTB{TB: t}
			c := StartChild(rec, "TestExitChild", exitChildEnv+"="+tc.mode)
			// The child is reaped whatever happens below.
			t.Cleanup(func() {
				childGrace = time.Second
				rec.runCleanups()
			})
			if l := c.Line(t); l != "READY" {
				t.Fatalf("child said %q", l)
			}
			childGrace = tc.grace
			rec.runCleanups()
			switch {
			case tc.want == "" && len(rec.errs) != 0:
				t.Errorf("a child that exited with 0: %q", rec.errs)
			case tc.want != "" && (len(rec.errs) != 1 || !strings.Contains(rec.errs[0], tc.want)):
				t.Errorf("errors %q, want one with %q", rec.errs, tc.want)
			}
		})
	}
}
