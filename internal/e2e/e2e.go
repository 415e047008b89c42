// Package e2e holds the end-to-end tests of the sealed path: they build the
// pith binary, start `pith serve` as a separate process with the
// development attestation stand-in, and talk to it the way users do (the
// Go client, `pith proxy` with ollama's own clients, an independent node
// OHTTP client), then scan the server's memory for what they sent.
//
// This file holds the helpers the tests share.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pith-project/pith/model/synth"
)

// Root is the module's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Build compiles cmd/pith into dir with the experiments and tags given,
// without cgo, as the image's pith-init is built (Makefile): a process
// that links the C library has its threads' stacks and malloc's heaps
// besides Go's, so a scan of it would prove the discipline of a process
// that does not ship.
func Build(ctx context.Context, dir, name, experiments string, tags ...string) (string, error) {
	out := filepath.Join(dir, name)
	args := []string{"build", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, "./cmd/pith")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), "GOEXPERIMENT="+experiments, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", name, err, b)
	}
	return out, nil
}

// TinyModel writes a tiny synthetic qwen2 model (built-in vocabulary,
// Qwen2.5's chat template) to dir.
func TinyModel(dir string) (string, error) {
	var buf bytes.Buffer
	if err := synth.Generate(&buf, synth.Options{Shape: "tiny-qwen2", Type: "q8_0", Builtin: true, Seed: 11}); err != nil {
		return "", err
	}
	p := filepath.Join(dir, "tiny.gguf")
	return p, os.WriteFile(p, buf.Bytes(), 0o644)
}

// FreeAddr returns a loopback address nobody listens on (yet).
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Proc is a started pith process with its combined output captured.
type Proc struct {
	Cmd    *exec.Cmd
	Exited chan struct{} // closed when the process has exited
	mu     sync.Mutex
	log    bytes.Buffer
}

// Log is what the process printed so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *Proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

// Start runs bin with args and waits until url answers 200, or fails with
// what the process printed.
func Start(bin string, env []string, health string, args ...string) (*Proc, error) {
	p := &Proc{Exited: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p, p
	if err := p.Cmd.Start(); err != nil {
		return nil, err
	}
	exited := p.Exited
	go func() { p.Cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("%s exited: %s", filepath.Base(bin), p.Log())
		default:
		}
		resp, err := http.Get(health)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	return nil, fmt.Errorf("%s not ready after 60s: %s", filepath.Base(bin), p.Log())
}

// Stop asks the process to finish (SIGTERM), then kills it after 10 s.
func (p *Proc) Stop() {
	if p.Cmd.Process == nil {
		return
	}
	p.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.Exited:
	case <-time.After(10 * time.Second):
		p.Cmd.Process.Kill()
		<-p.Exited
	}
}

// RSS is the resident memory of pid in bytes.
func RSS(pid int) (int64, error) {
	v, err := procField(pid, "status", "VmRSS")
	if err != nil {
		return 0, err
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	return kb << 10, err
}

// WriteBytes is what process pid has sent to the storage layer so far
// (/proc/PID/io write_bytes): the bytes of the file pages it dirtied on
// disk-backed file systems, counted when they are dirtied.
func WriteBytes(pid int) (int64, error) {
	v, err := procField(pid, "io", "write_bytes")
	if err != nil {
		return 0, fmt.Errorf("%w (kernel without task I/O accounting?)", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

// procField is the value of the "name:" line of /proc/PID/file, trimmed.
func procField(pid int, file, name string) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no %s in /proc/%d/%s", name, pid, file)
}
