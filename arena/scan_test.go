package arena

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pith-project/pith/internal/memscan"
)

const scanChildEnv = "PITH_ARENA_SCAN_CHILD"

// scanChild runs one "request" in an arena: the canary arrives from stdin
// straight into arena memory, is copied (raw, UTF-16LE, in a big buffer
// past the retained prefix), and the request then waits for a go-ahead, so
// the parent can scan during the request; after Do it reports again and
// waits, so the parent can scan after the wipe.
func scanChild() error {
	a, err := New(8<<20, Options{})
	if err != nil {
		return err
	}
	in := bufio.NewReader(os.Stdin) // only commands pass through it
	err = a.Do(func(a *Arena) error {
		c := a.Bytes(32)
		if _, err := io.ReadFull(os.Stdin, c); err != nil {
			return err
		}
		u := a.Bytes(64)
		for i, b := range c {
			u[2*i] = b
		}
		big := a.Bytes(4 << 20)
		copy(big[3<<20:], c)
		fmt.Println("DURING")
		_, err := in.ReadString('\n')
		return err
	})
	if err != nil {
		return err
	}
	fmt.Println("AFTER")
	in.ReadString('\n')
	return nil
}

func TestScanChildEntry(t *testing.T) {
	if os.Getenv(scanChildEnv) == "1" {
		if err := scanChild(); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// The memory-scan proof at the arena's level: while a request runs in a
// separate process, a scan of that process's whole address space finds
// the canary in every encoding the request made of it; once Do has
// returned, it finds none anywhere. In the pithnowipe control build the
// same scan after Do still finds them all.
func TestWholeProcessScanAfterDo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("reading another process's memory needs root (or ptrace rights)")
	}
	raw := make([]byte, 16)
	rand.Read(raw)
	canary := []byte(hex.EncodeToString(raw))
	needles := memscan.Encodings("canary", canary)

	cmd := exec.Command(os.Args[0], "-test.run=^TestScanChildEntry$")
	cmd.Env = append(os.Environ(), scanChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	out := bufio.NewReader(stdout)
	expect := func(want string) {
		t.Helper()
		line, err := out.ReadString('\n')
		if strings.TrimSpace(line) != want {
			t.Fatalf("child said %q (%v), want %s", line, err, want)
		}
	}
	stdin.Write(canary)
	expect("DURING")
	during, err := memscan.Scan(cmd.Process.Pid, needles, memscan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if during.Counts[0] != 2 || during.Counts[1] != 1 {
		t.Fatalf("during the request: counts %v, want raw 2 and UTF-16 1 (the scan must see the arena)", during.Counts)
	}
	stdin.Write([]byte("go\n"))
	expect("AFTER")
	after, err := memscan.Scan(cmd.Process.Pid, needles, memscan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("during: %s", during)
	t.Logf("after:  %s", after)
	if WipeDisabled {
		if after.Counts[0] != 2 || after.Counts[1] != 1 {
			t.Fatalf("control build, after Do: counts %v, want the canaries still there", after.Counts)
		}
		return
	}
	if after.Total() != 0 {
		t.Fatalf("after Do: %d hits: %+v", after.Total(), after.Hits)
	}
}
