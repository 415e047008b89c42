package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
