package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pith-project/pith/image/cpio"
	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/runtime/pid1"
)

// elfWithModinfo is a minimal ELF64 relocatable object whose only content
// is a .modinfo section, the shape of a kernel module as depmod reads it.
func elfWithModinfo(modinfo string) []byte {
	shstr := "\x00.modinfo\x00.shstrtab\x00"
	const ehdr, shent = 64, 64
	info := []byte(modinfo)
	infoOff := ehdr
	strOff := infoOff + len(info)
	shOff := (strOff + len(shstr) + 7) &^ 7
	b := make([]byte, shOff+3*shent)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 1)  // ET_REL
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[40:], uint64(shOff))
	le.PutUint16(b[52:], ehdr)
	le.PutUint16(b[58:], shent)
	le.PutUint16(b[60:], 3) // sections
	le.PutUint16(b[62:], 2) // .shstrtab index
	copy(b[infoOff:], info)
	copy(b[strOff:], shstr)
	sec := func(i int, name, typ uint32, off, size int) {
		s := b[shOff+i*shent:]
		le.PutUint32(s[0:], name)
		le.PutUint32(s[4:], typ)
		le.PutUint64(s[24:], uint64(off))
		le.PutUint64(s[32:], uint64(size))
		le.PutUint64(s[48:], 1)
	}
	sec(1, 1, 1, infoOff, len(info))  // .modinfo, SHT_PROGBITS
	sec(2, 10, 3, strOff, len(shstr)) // .shstrtab, SHT_STRTAB
	return b
}

func TestModinfoDepends(t *testing.T) {
	tests := []struct {
		name, modinfo string
		want          []string
		wantErr       string
	}{
		{"none", "license=GPL\x00depends=\x00name=virtio_blk\x00", nil, ""},
		{"two", "depends=net_failover,failover\x00vermagic=6.12\x00", []string{"net_failover", "failover"}, ""},
		{"dash", "name=x\x00depends=sev-guest\x00", []string{"sev-guest"}, ""},
		{"missing", "license=GPL\x00", nil, "no depends="},
		{"twice", "depends=a\x00depends=b\x00", nil, "two depends="},
		{"path", "depends=../evil\x00", nil, "dependency name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ModinfoDepends(elfWithModinfo(tc.modinfo))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("ModinfoDepends = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := ModinfoDepends([]byte("not an ELF file")); err == nil {
		t.Fatal("a non-ELF module was accepted")
	}
}

func FuzzModinfoDepends(f *testing.F) {
	f.Add(elfWithModinfo("depends=a,b\x00"))
	f.Add(elfWithModinfo("depends=\x00"))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		deps, err := ModinfoDepends(b)
		if err != nil {
			return
		}
		for _, d := range deps {
			if d == "" || strings.ContainsAny(d, "/ :,") {
				t.Fatalf("dependency %q accepted", d)
			}
		}
	})
}

// fakeModules is a modules folder whose "compressed" files are plain ELF.
func fakeModules(deps map[string]string) map[string][]byte {
	files := map[string][]byte{}
	for p, d := range deps {
		files[p] = elfWithModinfo("depends=" + d + "\x00")
	}
	return files
}

func identity(_ context.Context, b []byte) ([]byte, error) { return b, nil }

func TestResolveModules(t *testing.T) {
	files := fakeModules(map[string]string{
		"kernel/drivers/net/virtio_net.ko.xz":                "net_failover",
		"kernel/drivers/net/net_failover.ko.xz":              "failover",
		"kernel/net/core/failover.ko.xz":                     "",
		"kernel/drivers/block/virtio_blk.ko.xz":              "",
		"kernel/drivers/virt/coco/tsm.ko.xz":                 "configfs",
		"kernel/fs/configfs/configfs.ko.xz":                  "",
		"kernel/drivers/virt/coco/sev-guest/sev-guest.ko.xz": "tsm",
		"kernel/drivers/unused.ko.xz":                        "",
	})
	ms, err := resolveModules(context.Background(), files, []string{"virtio_net", "sev_guest", "virtio-blk"}, identity)
	if err != nil {
		t.Fatal(err)
	}
	want := "kernel/drivers/block/virtio_blk.ko.xz: \n" +
		"kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz\n" +
		"kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz\n" +
		"kernel/drivers/virt/coco/sev-guest/sev-guest.ko.xz: kernel/drivers/virt/coco/tsm.ko.xz kernel/fs/configfs/configfs.ko.xz\n" +
		"kernel/drivers/virt/coco/tsm.ko.xz: kernel/fs/configfs/configfs.ko.xz\n" +
		"kernel/fs/configfs/configfs.ko.xz: \n" +
		"kernel/net/core/failover.ko.xz: \n"
	got := ms.modulesDep()
	if string(got) != strings.ReplaceAll(want, ": \n", ":\n") {
		t.Fatalf("modules.dep:\n%s\nwant:\n%s", got, want)
	}
	// What pith-init will do with it, through runtime/pid1's own reader.
	md, err := pid1.ParseModulesDep(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	order, err := md.LoadOrder("virtio_net", "sev-guest")
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(modNames(order), " "); g != "failover net_failover virtio_net configfs tsm sev_guest" {
		t.Fatalf("load order %s", g)
	}

	for _, tc := range []struct {
		name    string
		files   map[string][]byte
		want    []string
		wantErr string
	}{
		{"unknown", files, []string{"nope"}, "not in the kernel package"},
		{"missing dep", fakeModules(map[string]string{"a.ko.xz": "b"}), []string{"a"}, "b (needed by [a])"},
		{"cycle", fakeModules(map[string]string{"a.ko.xz": "b", "b.ko.xz": "a"}), []string{"a"}, "cycle"},
		{"dup", fakeModules(map[string]string{"x/a.ko.xz": "", "y/a.ko.xz": ""}), []string{"a"}, "at both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolveModules(context.Background(), tc.files, tc.want, identity)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	broken := func(context.Context, []byte) ([]byte, error) { return nil, errors.New("corrupt xz") }
	if _, err := resolveModules(context.Background(), files, []string{"virtio_blk"}, broken); err == nil || !strings.Contains(err.Error(), "corrupt xz") {
		t.Fatalf("decompression error lost: %v", err)
	}
}

func TestParseLockRepo(t *testing.T) {
	l, err := ReadLock("../lock.json")
	if err != nil {
		t.Fatal(err)
	}
	k, err := l.pkg(pkgKernel)
	if err != nil {
		t.Fatal(err)
	}
	// The digests ../shared/vectors/README.md lists for the same packages.
	if k.SHA256 != "6ed2b95055a96af9f543a427cc1bc56f67e5e72ec16b227ec965a9325aeb3480" {
		t.Errorf("kernel .deb pinned as %s", k.SHA256)
	}
	if got := k.DebName(); got != "linux-image-6.12.95+deb12-cloud-amd64-unsigned_6.12.95-1~bpo12+1_amd64.deb" {
		t.Errorf("DebName = %s", got)
	}
}

// TestLockMatchesInputs: the builder's pins and image/measure/inputs' pins
// (those of the shared measurement vectors) are the same packages.
func TestLockMatchesInputs(t *testing.T) {
	l, err := ReadLock("../lock.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]inputs.Deb{pkgKernel: inputs.CloudKernel, pkgOVMFSNP: inputs.OVMFAmdSev, pkgOVMFTDX: inputs.OVMFIntelTDX} {
		p, err := l.pkg(name)
		if err != nil {
			t.Fatal(err)
		}
		file, _ := p.only()
		if got := p.Deb(file); got != want {
			t.Errorf("%s: lock %+v, inputs %+v", name, got, want)
		}
	}
}

func TestParseLockRefuses(t *testing.T) {
	good, err := os.ReadFile("../lock.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, wantErr string }{
		{"unknown member", `"modules": [`, `"extra": 1, "modules": [`, "unknown field"},
		{"format", `image-lock/v1`, `image-lock/v2`, "format"},
		{"short digest", `"6ed2b95055a96af9f543a427cc1bc56f67e5e72ec16b227ec965a9325aeb3480"`, `"6ed2"`, "64 lower-case hex"},
		{"upper digest", `6ed2b95055a96af9f543a427cc1bc56f67e5e72ec16b227ec965a9325aeb3480`, `6ED2B95055A96AF9F543A427CC1BC56F67E5E72EC16B227EC965A9325AEB3480`, "64 lower-case hex"},
		{"escaping path", `"usr/share/ovmf/OVMF.amdsev.fd"`, `"../../etc/passwd"`, "clean relative path"},
		{"no kernel", `"name": "kernel"`, `"name": "kernel2"`, `no package named "kernel"`},
		{"module name", `"tdx-guest"]`, `"tdx guest"]`, "module name"},
		{"go", `"go1.26.8"`, `"1.26"`, "go version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
			if bytes.Equal(b, good) {
				t.Fatalf("test edit %q did not apply", tc.old)
			}
			_, err := ParseLock(b)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseLockTrailing(t *testing.T) {
	good, err := os.ReadFile("../lock.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseLock(append(good, "{}"...)); err == nil || !strings.Contains(err.Error(), "after the JSON") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParseLock(f *testing.F) {
	good, err := os.ReadFile("../lock.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(append(good, "{}"...))
	f.Add([]byte(`{"format":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLock(b)
		if err != nil {
			return
		}
		for _, p := range l.Packages {
			if checkDigest(p.SHA256) != nil {
				t.Fatalf("bad digest %q accepted", p.SHA256)
			}
			for f := range p.Files {
				if checkRel(f) != nil {
					t.Fatalf("bad path %q accepted", f)
				}
			}
		}
	})
}

func TestPinnedNamesBothDigests(t *testing.T) {
	err := pinned("kernel", []byte("changed"), "6ed2b95055a96af9f543a427cc1bc56f67e5e72ec16b227ec965a9325aeb3480")
	if err == nil || !strings.Contains(err.Error(), "6ed2b95055a96af9f543a427cc1bc56f67e5e72ec16b227ec965a9325aeb3480") ||
		!strings.Contains(err.Error(), hexSHA256([]byte("changed"))) {
		t.Fatalf("err = %v, want both digests", err)
	}
}

// TestInitramfsGNUcpio checks the compressed archive with tools nobody here
// wrote: gzip -t and GNU cpio list what the kernel will unpack.
func TestInitramfsGNUcpio(t *testing.T) {
	for _, tool := range []string{"gzip", "cpio"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/install-oracles.sh installs cpio)", tool)
		}
	}
	entries := withParents([]cpio.Entry{
		{Path: "init", Mode: cpio.TypeReg | 0o755, Data: []byte("#!pith\n")},
		{Path: "lib/modules/modules.dep", Mode: cpio.TypeReg | 0o644, Data: []byte("kernel/a.ko.xz:\n")},
		{Path: "lib/modules/kernel/a.ko.xz", Mode: cpio.TypeReg | 0o644, Data: []byte{0xfd, '7', 'z'}},
	})
	a, err := Initramfs(entries, 1700000000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Initramfs(entries, 1700000000)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two runs gave different bytes")
	}
	// gzip header: no name, mtime 0, OS 255.
	if a[3] != 0 || binary.LittleEndian.Uint32(a[4:]) != 0 || a[9] != 255 {
		t.Fatalf("gzip header % x", a[:10])
	}
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cpio", "-t", "-v", "--quiet")
	cmd.Stdin = bytes.NewReader(raw)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio: %v: %s", err, out)
	}
	for _, want := range []string{"-rwxr-xr-x   1 root     root            7 Nov 14  2023 init", "drwxr-xr-x", "lib/modules/kernel/a.ko.xz", "lib/modules/modules.dep"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("cpio -tv lacks %q:\n%s", want, out)
		}
	}
	gz := exec.Command("gzip", "-t")
	gz.Stdin = bytes.NewReader(a)
	if out, err := gz.CombinedOutput(); err != nil {
		t.Fatalf("gzip -t: %v: %s", err, out)
	}
}

func TestCmdline(t *testing.T) {
	l, err := ReadLock("../lock.json")
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	got := Cmdline(sum, 1234, l, Options{Net: "10.0.2.15/24,10.0.2.2", Listen: "0.0.0.0:8443", Attest: "dev"})
	ps, err := pid1.ParseCmdline(got)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pid1.ParseConfig(ps)
	if err != nil {
		t.Fatalf("pith-init would refuse %q: %v", got, err)
	}
	if cfg.Model != ModelDevice || cfg.ModelSize != 1234 || cfg.Listen != "0.0.0.0:8443" || cfg.Attest != "dev" ||
		cfg.Net == nil || cfg.Net.Gateway.String() != "10.0.2.2" || strings.Join(cfg.Modules, ",") != "virtio_net,virtio_blk,button,tsm" {
		t.Fatalf("pith-init reads %+v from %q", cfg, got)
	}
	for _, want := range []string{"console=ttyS0", "panic=-1", "init_on_free=1", "init_on_alloc=1", "pith.model.sha256=" + sum} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("cmdline %q lacks %s", got, want)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	text := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(text, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.gguf")
	if b, err := os.ReadFile(model); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(truncated, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	ok := Options{Model: model, Out: filepath.Join(dir, "out"), SNP: []SNPConfig{{1, "EPYC-v4", 1}}, Source: "s"}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		flag string // the *OptionError's Flag, "" for another error or none
		want string // "" for accepted
	}{
		{"ok", func(*Options) {}, "", ""},
		{"ok options", func(o *Options) {
			o.Net, o.Listen, o.Attest = "10.0.2.15/24,10.0.2.2,eth0", "[::]:8443", "sev-snp"
		}, "", ""},
		{"ok dhcp, port only", func(o *Options) { o.Net, o.Listen, o.Attest = "dhcp", ":8080", "auto" }, "", ""},
		{"ok out exists", func(o *Options) { o.Out = dir }, "", ""},
		{"no model", func(o *Options) { o.Model = "" }, "", "no model"},
		{"vcpus", func(o *Options) { o.SNP = []SNPConfig{{0, "EPYC-v4", 1}} }, "", "vCPUs"},
		{"no snp", func(o *Options) { o.SNP = nil }, "", "no SEV-SNP"},
		{"vcpu type", func(o *Options) { o.SNP = []SNPConfig{{1, "EPYC-Milam", 1}} }, "vcpu-type", `"EPYC-Milam": unknown`},
		{"host vcpu type", func(o *Options) { o.SNP = []SNPConfig{{1, "EPYC-v4", 1}, {1, "host", 1}} }, "vcpu-type", `"host": unknown`},
		{"features without SNPActive", func(o *Options) { o.SNP = []SNPConfig{{1, "EPYC-v4", 0x20}} }, "guest-features", "0x20 lacks SNPActive"},
		{"twice", func(o *Options) { o.SNP = []SNPConfig{{2, "EPYC-v4", 1}, {2, "EPYC-v4", 1}} }, "", "twice"},
		{"epoch", func(o *Options) { o.SourceDateEpoch = 1 << 33 }, "", "SOURCE_DATE_EPOCH"},
		{"space", func(o *Options) { o.Listen = "a b" }, "listen", "no spaces"},
		{"quote", func(o *Options) { o.Net = `"x` }, "net", "no spaces"},
		{"model is text", func(o *Options) { o.Model = text }, "model", "not a GGUF file"},
		{"model truncated", func(o *Options) { o.Model = truncated }, "model", "past the file"},
		{"model missing", func(o *Options) { o.Model = filepath.Join(dir, "none.gguf") }, "model", "no such file"},
		{"attest bogus", func(o *Options) { o.Attest = "bogus" }, "attest", "pith.attest=\"bogus\""},
		{"net garbage", func(o *Options) { o.Net = "garbage" }, "net", "pith.net=\"garbage\""},
		{"net bad gateway", func(o *Options) { o.Net = "10.0.2.15/24,fe80::1" }, "net", "family"},
		{"net dhcp extra", func(o *Options) { o.Net = "dhcp,eth0,eth1" }, "net", "dhcp[,IFNAME]"},
		{"listen nonsense", func(o *Options) { o.Listen = "nonsense" }, "listen", "HOST:PORT"},
		{"listen name", func(o *Options) { o.Listen = "example.com:80" }, "listen", "not an IP address"},
		{"listen port", func(o *Options) { o.Listen = "0.0.0.0:http" }, "listen", "1..65535"},
		{"listen port 0", func(o *Options) { o.Listen = ":0" }, "listen", "1..65535"},
		{"out is a file", func(o *Options) { o.Out = text }, "out", "not a folder"},
		{"out under a file", func(o *Options) { o.Out = filepath.Join(text, "img") }, "out", "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			err := o.check()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("check = %v, want %q", err, tc.want)
			}
			var oe *OptionError
			if got := errors.As(err, &oe); got != (tc.flag != "") || got && oe.Flag != tc.flag {
				t.Fatalf("check = %v (%T), want an OptionError for --%s", err, err, tc.flag)
			}
			if tc.flag != "" && !strings.HasPrefix(err.Error(), "build: --"+tc.flag+": ") {
				t.Fatalf("check = %q does not name --%s", err, tc.flag)
			}
		})
	}
	if _, err := os.Stat(ok.Out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("check made or touched %s: %v", ok.Out, err)
	}
}

// TestBuildRefusesFirst: Build refuses a bad option before it reads the
// lock file or the packages (the source folder here has neither) and
// leaves the output folder unmade.
func TestBuildRefusesFirst(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	_, err := Build(context.Background(), Options{Model: tinyModel(t, dir), Out: out, SNP: []SNPConfig{{1, "EPYC-v4", 1}},
		Source: filepath.Join(dir, "no-source"), Attest: "bogus"})
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Flag != "attest" {
		t.Fatalf("Build = %v, want an OptionError for --attest", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Build made %s: %v", out, err)
	}
}

func TestCheckBootCmdline(t *testing.T) {
	l, err := ReadLock("../lock.json")
	if err != nil {
		t.Fatal(err)
	}
	good := Cmdline(strings.Repeat("ab", 32), 1234, l, Options{Net: "dhcp", Listen: ":8080", Attest: "tdx"})
	for _, tc := range []struct {
		name, cmdline, want string
	}{
		{"built", good, ""},
		{"size 0", strings.Replace(good, "pith.model.size=1234", "pith.model.size=0", 1), "pith.model.size"},
		{"given twice", good + " pith.attest=dev", "given twice"},
		{"empty modules", strings.Replace(good, "pith.modules=virtio_net,", "pith.modules=,", 1), "bad module name"},
		{"unknown key", good + " pith.nett=dhcp", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkBootCmdline(tc.cmdline)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("checkBootCmdline = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzReadTar(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"./boot/vmlinuz", "./lib/modules/k/a.ko.xz", "./usr/share/doc/x"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 3, Typeflag: tar.TypeReg})
		tw.Write([]byte("abc"))
	}
	tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		files, err := readTar(bytes.NewReader(b), func(n string) bool { return !strings.HasPrefix(n, "usr/") })
		if err != nil {
			return
		}
		for n, data := range files {
			if strings.HasPrefix(n, "usr/") || strings.HasPrefix(n, "./") || len(data) > maxDebFile {
				t.Fatalf("kept %q (%d bytes)", n, len(data))
			}
		}
	})
}

func TestReadTar(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "./boot/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "./boot/vmlinuz", Mode: 0o644, Size: 4, Typeflag: tar.TypeReg})
	tw.Write([]byte("kern"))
	tw.WriteHeader(&tar.Header{Name: "./boot/link", Linkname: "vmlinuz", Typeflag: tar.TypeSymlink})
	tw.WriteHeader(&tar.Header{Name: "./etc/x", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	files, err := readTar(&buf, func(n string) bool { return strings.HasPrefix(n, "boot/") })
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || string(files["boot/vmlinuz"]) != "kern" {
		t.Fatalf("files %q", files)
	}
	if _, err := readTar(strings.NewReader("not a tar archive, but long enough to have a header of 512 bytes?"), func(string) bool { return true }); err == nil {
		t.Fatal("garbage accepted")
	}
}
