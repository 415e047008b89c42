package pid1

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const depText = `kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz
kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz
kernel/net/core/failover.ko.xz:
kernel/drivers/block/virtio_blk.ko.xz:
kernel/drivers/virt/coco/tsm.ko.xz:
kernel/drivers/virt/coco/sev-guest/sev-guest.ko.xz: kernel/drivers/virt/coco/tsm.ko.xz
kernel/drivers/acpi/tiny-power-button.ko.xz:
`

func TestModulesLoadOrder(t *testing.T) {
	md, err := ParseModulesDep(strings.NewReader(depText))
	if err != nil {
		t.Fatal(err)
	}
	got, err := md.LoadOrder("virtio_net", "virtio_blk", "sev_guest", "tiny-power-button", "net-failover")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"kernel/net/core/failover.ko.xz", "kernel/drivers/net/net_failover.ko.xz", "kernel/drivers/net/virtio_net.ko.xz",
		"kernel/drivers/block/virtio_blk.ko.xz",
		"kernel/drivers/virt/coco/tsm.ko.xz", "kernel/drivers/virt/coco/sev-guest/sev-guest.ko.xz",
		"kernel/drivers/acpi/tiny-power-button.ko.xz",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ModuleName("a/b/sev-guest.ko.zst") != "sev_guest" {
		t.Fatal("ModuleName")
	}
	for _, bad := range []struct{ dep, name string }{
		{depText, "tdx_guest"},            // not listed
		{"a.ko: b.ko\n", "a"},             // dependency without an entry
		{"a.ko: b.ko\nb.ko: a.ko\n", "a"}, // cycle
	} {
		md, err := ParseModulesDep(strings.NewReader(bad.dep))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := md.LoadOrder(bad.name); err == nil {
			t.Errorf("LoadOrder(%s) on %q succeeded", bad.name, bad.dep)
		}
	}
	for _, bad := range []string{"a.ko b.ko\n", "/abs/a.ko:\n", "../a.ko:\n", "a.ko:\na.ko:\n", "x/a.ko:\ny/a.ko:\n", "a.txt:\n", "a.ko: ../b.ko\n"} {
		if _, err := ParseModulesDep(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// finit_module is really called, dependencies first: with files that are
// not modules the first one the kernel sees (the deepest dependency)
// fails, and the error names it. Needs CAP_SYS_MODULE.
func TestLoadModulesCallsKernelInOrder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_MODULE)")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(depText), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(depText), "\n") {
		p, _, _ := strings.Cut(line, ":")
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		// Not an ELF file, so no kernel accepts it.
		if err := os.WriteFile(filepath.Join(dir, p), []byte("not a module"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := LoadModules(dir, nil, "virtio_net")
	if err == nil {
		t.Fatal("garbage modules loaded")
	}
	if !strings.Contains(err.Error(), "load module failover:") {
		t.Fatalf("error %v does not name the deepest dependency", err)
	}
	t.Logf("kernel refused as expected: %v", err)
	if err := LoadModules(dir, nil, "no_such_module"); err == nil || !strings.Contains(err.Error(), "not in modules.dep") {
		t.Fatalf("unknown module: %v", err)
	}
}

// Any modules.dep text parses or fails cleanly; a parsed one yields a load
// order for each module or an error, never a panic or a hang.
func FuzzParseModulesDep(f *testing.F) {
	f.Add(depText)
	f.Add("a.ko: b.ko\nb.ko: a.ko\n")
	f.Add("# comment\n\nx/y-z.ko.gz:   \n")
	f.Fuzz(func(t *testing.T, s string) {
		md, err := ParseModulesDep(strings.NewReader(s))
		if err != nil {
			return
		}
		for name, path := range md.byName {
			order, err := md.LoadOrder(name)
			if err != nil {
				continue
			}
			if len(order) == 0 || order[len(order)-1] != path {
				t.Fatalf("order for %s does not end with it: %v", name, order)
			}
			seen := map[string]bool{}
			for _, p := range order {
				if seen[p] {
					t.Fatalf("%s twice in %v", p, order)
				}
				seen[p] = true
			}
		}
	})
}
