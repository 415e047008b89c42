package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
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
