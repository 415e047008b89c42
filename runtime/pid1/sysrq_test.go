package pid1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDisableSysRq(t *testing.T) {
	tests := []struct {
		name  string
		setup func(path string) error // makes proc/sys/kernel/sysrq
		want  string                  // in the error; "" for none
	}{
		{"debian default", func(p string) error { return os.WriteFile(p, []byte("438\n"), 0o644) }, ""},
		{"all enabled", func(p string) error { return os.WriteFile(p, []byte("1\n"), 0o644) }, ""},
		{"no sysrq in this kernel", func(string) error { return nil }, ""},
		// Writes that do not hold, as with sysrq_always_enabled: a sink
		// that reads back as nothing.
		{"does not hold", func(p string) error { return os.Symlink(os.DevNull, p) }, "after writing 0"},
		{"not writable", func(p string) error { return os.Mkdir(p, 0o755) }, "disable SysRq"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "proc/sys/kernel")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "sysrq")
			if err := tc.setup(path); err != nil {
				t.Fatal(err)
			}
			err := DisableSysRq(root)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("DisableSysRq = %v, want an error with %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			switch {
			case os.IsNotExist(err) && tc.name == "no sysrq in this kernel":
			case err != nil || strings.TrimSpace(string(b)) != "0":
				t.Fatalf("kernel.sysrq is %q (%v) after DisableSysRq", b, err)
			}
		})
	}
}
