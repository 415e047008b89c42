package kernels

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/memscan"
	"github.com/pith-project/pith/internal/wipe"
	"golang.org/x/sys/unix"
)

const wipeChildEnv = "PITH_KERNELS_WIPE_CHILD"

// TestWorkerSharesErased runs a job whose every share copies a canary to
// its stack, on two threads, in a child process, as a request would: the
// caller inside wipe.Do, the canary's only other copy wiped afterwards.
// Then it scans the child's whole memory: no copy may be left, though the
// worker's goroutine outlives the job. The control run, with the workers'
// wipe.Do turned off, must find the canary on the worker's stack, or the
// first run proved nothing.
func TestWorkerSharesErased(t *testing.T) {
	if mode := os.Getenv(wipeChildEnv); mode != "" {
		wipeChild(mode == "control")
		return
	}
	if !wipe.Enabled {
		t.Skip("wipe.Enabled is false (no GOEXPERIMENT=runtimesecret, another platform, or pithnowipe): the workers' shares are not erased")
	}
	for _, tc := range []struct {
		mode     string
		wantHits bool
	}{{"wiped", false}, {"control", true}} {
		t.Run(tc.mode, func(t *testing.T) {
			res := scanWipeChild(t, tc.mode)
			switch {
			case !tc.wantHits && res.Total() != 0:
				t.Errorf("a share's canary outlived the job: %s\n%s", res, strings.Join(res.Describe(), "\n"))
			case tc.wantHits && res.Total() < canaryCopies/2:
				t.Errorf("control: only %d of the %d copies on the worker's stack found without wipe.Do (%s), so the wiped run shows little", res.Total(), canaryCopies, res)
			}
		})
	}
}

// scanWipeChild starts the child in mode, hands it a fresh canary, waits
// until its job is over and scans it.
func scanWipeChild(t *testing.T, mode string) *memscan.Result {
	canary := make([]byte, 32)
	if _, err := rand.Read(canary); err != nil {
		t.Fatal(err)
	}
	c := memscan.StartChild(t, "TestWorkerSharesErased", wipeChildEnv+"="+mode)
	if _, err := c.In.Write(canary); err != nil {
		t.Fatal(err)
	}
	if l := c.Line(t); l != "READY" {
		t.Fatalf("child said %q", l)
	}
	return c.Scan(t, []memscan.Needle{{Name: "canary", Bytes: canary}}, memscan.Options{})
}

// wipeChild is the process under scan. It reads the canary into an mmap'd
// page (no Go buffer ever holds it), runs canaryJob on two threads inside
// wipe.Do as a request's scope does, wipes the page, says READY and waits
// for the end of its input.
func wipeChild(control bool) {
	fail := func(format string, args ...any) {
		fmt.Printf(format+"\n", args...)
		os.Exit(1)
	}
	m, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		fail("mmap: %v", err)
	}
	if _, err := io.ReadFull(os.Stdin, m[:32]); err != nil {
		fail("read canary: %v", err)
	}
	SetThreads(2)
	j := &canaryJob{canary: m[:32]}
	wipe.Do(func() {
		opMu.Lock()
		defer opMu.Unlock()
		// The worker reads wipe only after the job's generation, which
		// parallel publishes after this write.
		thePool.wipe = !control
		parallel(2, 1, j)
	})
	if j.ran.Load() != 2 || j.timedOut.Load() {
		fail("the worker never took its share")
	}
	clear(m)
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// canaryJob's two shares each put copies of the canary on their thread's
// stack and wait (up to a few seconds) for the other, so that the worker
// takes one: if the wait ran out, the caller may have taken both.
type canaryJob struct {
	canary   []byte
	ran      atomic.Int32
	timedOut atomic.Bool
}

func (j *canaryJob) run(lo, hi int) {
	deepCanary(j.canary)
	j.ran.Add(1)
	for end := time.Now().Add(5 * time.Second); j.ran.Load() < 2; {
		if time.Now().After(end) {
			j.timedOut.Store(true)
			return
		}
	}
}

// deepCanary puts canaryCopies copies of c on the stack below a live pad
// of 8 KiB, far below anything the worker's wait for its next job reaches
// later: near the top, a later call overwrote one copy or both in some of
// the control runs, which then found nothing.
//
//go:noinline
func deepCanary(c []byte) (sum byte) {
	var pad [8192]byte
	pad[len(c)] = 1
	sum = stackCanary(c)
	for _, b := range pad {
		sum += b
	}
	return sum
}

// canaryCopies is how many copies stackCanary writes; the control run
// wants most of them found.
const canaryCopies = 32

//go:noinline
func stackCanary(c []byte) (sum byte) {
	var a [canaryCopies * 32]byte
	for i := 0; i < len(a); i += 32 {
		copy(a[i:], c)
	}
	for _, b := range a {
		sum += b
	}
	return sum
}
