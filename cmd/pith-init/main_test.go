package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/runtime/pid1"
)

func TestWaitFor(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "present")
	if err := os.WriteFile(present, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	late := filepath.Join(dir, "late")
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("shutdown"))
	tests := []struct {
		name    string
		ctx     context.Context
		path    string
		create  string // made after 100 ms
		wantErr string
	}{
		{"present", context.Background(), present, "", ""},
		{"appears", context.Background(), late, late, ""},
		{"never", context.Background(), filepath.Join(dir, "never"), "", "no such file"},
		{"empty", context.Background(), "", "", "no pith.model="},
		{"shutdown", cancelled, filepath.Join(dir, "gone"), "", "shutdown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.create != "" {
				go func() {
					time.Sleep(100 * time.Millisecond)
					os.WriteFile(tc.create, nil, 0o600)
				}()
			}
			err := waitFor(tc.ctx, tc.path, time.Second)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("waitFor(%q) = %v, want error containing %q", tc.path, err, tc.wantErr)
			}
		})
	}
}

// TestDepsDocumented keeps the package doc's list of outside modules
// equal to what the build really pulls in, so growth of the trusted
// computing base is seen in review. A failure here means: update the list
// in main.go's package doc, and say why the new module belongs in PID 1.
func TestDepsDocumented(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, _, _ := strings.Cut(string(src), "\npackage main")
	var listed []string
	for _, line := range strings.Split(doc, "\n") {
		if rest, ok := strings.CutPrefix(line, "//\t"); ok {
			if f := strings.Fields(rest); len(f) > 0 && strings.Contains(f[0], ".") {
				listed = append(listed, f[0])
			}
		}
	}
	sort.Strings(listed)
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{with .Module}}{{.Path}}{{end}}{{end}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{"github.com/pith-project/pith": true}
	var real []string
	for _, m := range strings.Fields(string(out)) {
		if !seen[m] {
			seen[m] = true
			real = append(real, m)
		}
	}
	sort.Strings(real)
	if strings.Join(listed, "\n") != strings.Join(real, "\n") {
		t.Fatalf("the package doc lists the modules\n%s\n\nbut go list -deps says\n%s", strings.Join(listed, "\n"), strings.Join(real, "\n"))
	}
}

// A step that cannot look at its context (the model's load) does not hold
// up a shutdown: unlessStopped returns the shutdown's cause at once, and
// the step's own result when no shutdown comes.
func TestUnlessStopped(t *testing.T) {
	stop := pid1.ShutdownSignal{Signal: os.Interrupt}
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(stop) })
	slow := make(chan struct{})
	defer close(slow)
	t0 := time.Now()
	_, err := unlessStopped(ctx, func() (int, error) {
		select {
		case <-slow:
		case <-time.After(3 * time.Second):
		}
		return 1, nil
	})
	if !errors.Is(err, stop) || time.Since(t0) > 2*time.Second {
		t.Fatalf("unlessStopped = %v after %s, want the shutdown at once", err, time.Since(t0))
	}
	if v, err := unlessStopped(context.Background(), func() (int, error) { return 7, nil }); v != 7 || err != nil {
		t.Fatalf("unlessStopped = %d, %v", v, err)
	}
	bad := errors.New("not a GGUF file")
	if _, err := unlessStopped(context.Background(), func() (int, error) { return 0, bad }); !errors.Is(err, bad) {
		t.Fatalf("unlessStopped = %v, want %v", err, bad)
	}
}

// A signal or the power button is a request to stop; a lost lease, and a
// context still running, are not.
func TestShutdownRequested(t *testing.T) {
	tests := []struct {
		name  string
		cause error // nil: not cancelled
		want  bool
	}{
		{"running", nil, false},
		{"signal", pid1.ShutdownSignal{Signal: os.Interrupt}, true},
		{"power button", pid1.ErrPowerButton, true},
		{"lease lost", fmt.Errorf("eth0: %w: NAK", pid1.ErrLeaseLost), false},
	}
	for _, tc := range tests {
		ctx, cancel := context.WithCancelCause(context.Background())
		if tc.cause != nil {
			cancel(tc.cause)
		}
		if got := shutdownRequested(ctx); got != tc.want {
			t.Errorf("%s: shutdownRequested = %v, want %v", tc.name, got, tc.want)
		}
		cancel(nil)
	}
}
