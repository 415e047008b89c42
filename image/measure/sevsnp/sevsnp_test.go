package sevsnp_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/image/measure/inputs/inputstest"
	"github.com/pith-project/pith/image/measure/ovmf"
	"github.com/pith-project/pith/image/measure/sevsnp"
)

// vectors is testdata/snp.json, a copy of the shared vectors computed with
// virtee/sev-snp-measure (see its computed_by).
type vectors struct {
	FirmwareFacts struct {
		GPA            string `json:"gpa"`
		ResetEIP       string `json:"sev_es_reset_eip"`
		HashTableGPA   string `json:"sev_hash_table_gpa"`
		HashTableSize  string `json:"sev_hash_table_area_size"`
		FirmwareDigest string `json:"gctx_after_firmware_pages_only"`
		Sections       []struct {
			Type, GPA, Size string
		} `json:"sev_metadata_sections_in_order"`
	} `json:"firmware_facts"`
	Cases []struct {
		ID            string  `json:"id"`
		VCPUs         int     `json:"vcpus"`
		VCPUType      string  `json:"vcpu_type"`
		VCPUSig       string  `json:"vcpu_sig"`
		VMMType       string  `json:"vmm_type"`
		GuestFeatures string  `json:"guest_features"`
		Kernel        *string `json:"kernel"`
		Initrd        *string `json:"initrd"`
		Cmdline       *string `json:"cmdline"`
		Measurement   string  `json:"measurement_sha384"`
	} `json:"cases"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/snp.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) != 26 {
		t.Fatalf("%d cases in snp.json, want 26", len(v.Cases))
	}
	return v
}

func num(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("vector number %q: %v", s, err)
	}
	return n
}

var (
	kernelOnce sync.Once
	kernel     []byte
)

func TestVectors(t *testing.T) {
	v := loadVectors(t)
	fw := inputstest.Load(t, inputs.OVMFAmdSev)
	initrd := inputstest.VectorInitrd(t)
	for _, c := range v.Cases {
		t.Run(c.ID, func(t *testing.T) {
			in := sevsnp.Input{OVMF: fw, VCPUs: c.VCPUs, VCPUType: c.VCPUType, GuestFeatures: num(t, c.GuestFeatures), VMMType: c.VMMType}
			if c.Kernel != nil {
				kernelOnce.Do(func() { kernel = inputstest.Load(t, inputs.CloudKernel) })
				if kernel == nil {
					t.Fatal("kernel not loaded")
				}
				in.Kernel = kernel
				if c.Initrd != nil {
					in.Initrd = initrd
				}
				if c.Cmdline != nil {
					in.Cmdline = *c.Cmdline
				}
			}
			sig, err := sevsnp.VCPUSignature(c.VCPUType)
			if err != nil || uint64(sig) != num(t, c.VCPUSig) {
				t.Errorf("VCPUSignature(%q) = %#x, %v; want %s", c.VCPUType, sig, err, c.VCPUSig)
			}
			got, err := sevsnp.LaunchDigest(in)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got[:]) != c.Measurement {
				t.Errorf("LaunchDigest = %x\n                  want %s", got, c.Measurement)
			}
		})
	}
}

func TestFirmwareFacts(t *testing.T) {
	v := loadVectors(t)
	raw := inputstest.Load(t, inputs.OVMFAmdSev)
	fw, err := ovmf.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	ff := v.FirmwareFacts
	if fw.GPA() != num(t, ff.GPA) {
		t.Errorf("GPA %#x, want %s", fw.GPA(), ff.GPA)
	}
	if eip, err := fw.SEVESResetEIP(); err != nil || uint64(eip) != num(t, ff.ResetEIP) {
		t.Errorf("reset EIP %#x, %v; want %s", eip, err, ff.ResetEIP)
	}
	if gpa, size, err := fw.SEVHashTable(); err != nil || uint64(gpa) != num(t, ff.HashTableGPA) || uint64(size) != num(t, ff.HashTableSize) {
		t.Errorf("hash table %#x+%#x, %v; want %s+%s", gpa, size, err, ff.HashTableGPA, ff.HashTableSize)
	}
	secs, err := fw.SEVMetadata()
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, s := range secs {
		got = append(got, fmt.Sprintf("%s %#x %#x", s.Type, s.GPA, s.Size))
	}
	for _, s := range ff.Sections {
		want = append(want, fmt.Sprintf("%s %#x %#x", s.Type, num(t, s.GPA), num(t, s.Size)))
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("sections\n got %v\nwant %v", got, want)
	}
	d, err := sevsnp.FirmwareDigest(raw)
	if err != nil || hex.EncodeToString(d[:]) != ff.FirmwareDigest {
		t.Errorf("FirmwareDigest = %x, %v; want %s", d, err, ff.FirmwareDigest)
	}
}

func TestVCPUSignature(t *testing.T) {
	// Family/model/stepping from QEMU's builtin_x86_defs, packed by hand
	// per AMD's CPUID Fn0000_0001_EAX layout.
	for _, c := range []struct {
		name string
		want uint32
	}{
		{"EPYC-v4", 0x00800f12}, // family 0x17, model 1, stepping 2
		{"EPYC-v5", 0x00800f12}, // added after QEMU 10.0: feature flags only
		{"EPYC-Rome", 0x00830f10},
		{"EPYC-Rome-v5", 0x00830f10},
		{"EPYC-Milan-v3", 0x00a00f11},
		{"EPYC-Genoa-v2", 0x00a10f10},
		{"EPYC-Milan", 0x00a00f11},
		{"EPYC-Genoa", 0x00a10f10},
		{"EPYC-Turin", 0x00b00f00}, // family 0x1a
	} {
		if got, err := sevsnp.VCPUSignature(c.name); err != nil || got != c.want {
			t.Errorf("VCPUSignature(%q) = %#x, %v; want %#x", c.name, got, err, c.want)
		}
	}
	if _, err := sevsnp.VCPUSignature("Skylake-Server"); err == nil {
		t.Error("an Intel model got a signature")
	}
}

func TestHashTableLayout(t *testing.T) {
	tab := sevsnp.HashTable([]byte("k"), nil, "")
	if len(tab) != 176 {
		t.Fatalf("table of %d bytes, want 176 (168 padded to 16)", len(tab))
	}
	// Header GUID 9438d606-4f22-4cc9-b479-a793d411fd21 in EFI byte order,
	// then the length 168, then the command-line entry's GUID.
	want := "06d63894224fc94cb479a793d411fd21" + "a800" + "d82dd097" + "20bd944caa78e7714d36ab2a" + "3200"
	if got := hex.EncodeToString(tab[:16+2+18]); got != want {
		t.Errorf("table head %s, want %s", got, want)
	}
	// SHA-256 of a lone NUL (the empty command line with its terminator).
	if got := hex.EncodeToString(tab[36:68]); got != "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" {
		t.Errorf("empty command line hash %s", got)
	}
	if !allZero(tab[168:]) {
		t.Error("padding not zero")
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestRefusesBadInput(t *testing.T) {
	good := craftOVMF(t)
	for _, c := range []struct {
		name string
		in   sevsnp.Input
		want string
	}{
		{"no vcpus", sevsnp.Input{OVMF: good, VCPUType: "EPYC-v4", GuestFeatures: 1}, "vCPUs"},
		{"unknown cpu", sevsnp.Input{OVMF: good, VCPUs: 1, VCPUType: "Pentium", GuestFeatures: 1}, "vcpu type"},
		{"other vmm", sevsnp.Input{OVMF: good, VCPUs: 1, VCPUType: "EPYC-v4", VMMType: "ec2", GuestFeatures: 1}, "vmm type"},
		{"odd size", sevsnp.Input{OVMF: good[:len(good)-1], VCPUs: 1, VCPUType: "EPYC-v4", GuestFeatures: 1}, "multiple of 4096"},
		{"initrd without kernel", sevsnp.Input{OVMF: good, Initrd: []byte{1}, VCPUs: 1, VCPUType: "EPYC-v4", GuestFeatures: 1}, "without a kernel"},
		{"no footer", sevsnp.Input{OVMF: make([]byte, 8192), VCPUs: 1, VCPUType: "EPYC-v4", GuestFeatures: 1}, "not found"},
		{"zero features", sevsnp.Input{OVMF: good, VCPUs: 1, VCPUType: "EPYC-v4"}, "SNPActive"},
		{"DebugSwap alone", sevsnp.Input{OVMF: good, VCPUs: 1, VCPUType: "EPYC-v4", GuestFeatures: sevsnp.FeatureDebugSwap}, "SNPActive"},
		{"NUL in cmdline", sevsnp.Input{OVMF: good, Kernel: []byte("k"), Cmdline: "a\x00b", VCPUs: 1, VCPUType: "EPYC-v4", GuestFeatures: 1}, "NUL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := sevsnp.LaunchDigest(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
	// A firmware without the kernel-hashes section cannot measure a kernel.
	_, err := sevsnp.LaunchDigest(sevsnp.Input{OVMF: good, Kernel: []byte("k"), VCPUs: 1, VCPUType: "EPYC-v4", GuestFeatures: 1})
	if !errors.Is(err, ovmf.ErrNotFound) {
		t.Fatalf("kernel on a firmware without SNP_KERNEL_HASHES: %v", err)
	}
}
