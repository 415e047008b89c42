package tdx_test

import (
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/image/measure/inputs/inputstest"
	"github.com/pith-project/pith/image/measure/ovmf"
	"github.com/pith-project/pith/image/measure/ovmf/ovmftest"
	"github.com/pith-project/pith/image/measure/tdx"
)

// vectors is testdata/tdx.json, a copy of the shared vectors computed with
// td-shim's td_shim_tee_info_hash.py, quex-tech/td-report-web and
// scrtlabs/reproduce-mr.
type vectors struct {
	Sections []struct {
		Type       string `json:"type"`
		DataOffset string `json:"data_offset"`
		RawSize    string `json:"raw_size"`
		GPA        string `json:"gpa"`
		MemSize    string `json:"mem_size"`
		Attributes string `json:"attributes"`
	} `json:"tdvf_metadata_sections_in_order"`
	Cases []struct {
		ID   string `json:"id"`
		MRTD string `json:"mrtd"`
	} `json:"cases"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/tdx.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func num(t *testing.T, s string) uint64 {
	t.Helper()
	s, _, _ = strings.Cut(s, " ")
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("vector number %q: %v", s, err)
	}
	return n
}

func TestMRTDVectors(t *testing.T) {
	v := loadVectors(t)
	fw := inputstest.Load(t, inputs.OVMFIntelTDX)
	orders := map[string]tdx.Order{"tdx-mrtd-single-pass": tdx.SinglePass, "tdx-mrtd-two-pass": tdx.TwoPass}
	if len(v.Cases) != len(orders) {
		t.Fatalf("%d cases in tdx.json, want %d", len(v.Cases), len(orders))
	}
	for _, c := range v.Cases {
		t.Run(c.ID, func(t *testing.T) {
			order, ok := orders[c.ID]
			if !ok {
				t.Fatalf("unknown case %q", c.ID)
			}
			got, err := tdx.MRTD(fw, order)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got[:]) != c.MRTD {
				t.Errorf("MRTD(%v) = %x\n                  want %s", order, got, c.MRTD)
			}
		})
	}
	// The two orders must differ, or the vectors would not tell them apart.
	a, _ := tdx.MRTD(fw, tdx.SinglePass)
	b, _ := tdx.MRTD(fw, tdx.TwoPass)
	if a == b {
		t.Error("single- and two-pass MRTD agree")
	}
}

func TestMetadataFacts(t *testing.T) {
	v := loadVectors(t)
	fw, err := ovmf.Parse(inputstest.Load(t, inputs.OVMFIntelTDX))
	if err != nil {
		t.Fatal(err)
	}
	secs, err := fw.TDXMetadata()
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, s := range secs {
		got = append(got, fmt.Sprintf("%s %#x %#x %#x %#x %#x", s.Type, s.DataOffset, s.RawSize, s.GPA, s.MemSize, s.Attributes))
	}
	for _, s := range v.Sections {
		want = append(want, fmt.Sprintf("%s %#x %#x %#x %#x %#x", s.Type, num(t, s.DataOffset), num(t, s.RawSize), num(t, s.GPA), num(t, s.MemSize), num(t, s.Attributes)))
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("sections\n got %v\nwant %v", got, want)
	}
}

// TestMRTDRecords spells out, on a crafted image, the byte stream the TDX
// module hashes (Intel TDX module spec, TDH.MEM.PAGE.ADD and TDH.MR.EXTEND)
// for what QEMU loads, independently of MRTD's loops: BFV pages come from
// the image at the data offset for the whole memory size (past the raw
// size too, as QEMU maps the flash), TempMem is zero memory, and a PAGE.AUG
// attribute does not stop QEMU from adding a section.
func TestMRTDRecords(t *testing.T) {
	img := ovmftest.Build(ovmftest.Image{
		Size: 0x8000,
		TDX: []ovmf.TDXSection{
			{DataOffset: 0x1000, RawSize: 0x1000, GPA: 0xffffe000, MemSize: 0x2000, Type: ovmf.BFV, Attributes: ovmf.AttrMRExtend},
			{DataOffset: 0x3000, RawSize: 0x1000, GPA: 0xffffd000, MemSize: 0x1000, Type: ovmf.CFV},
			{GPA: 0x800000, MemSize: 0x1000, Type: ovmf.TempMem, Attributes: ovmf.AttrMRExtend},
			{GPA: 0x900000, MemSize: 0x1000, Type: ovmf.TempMem, Attributes: ovmf.AttrPageAug},
		},
	})
	for i := 0x1000; i < 0x4000; i++ {
		img[i] = byte(i * 7)
	}
	rec := func(tag string, gpa uint64) []byte {
		r := make([]byte, 128)
		copy(r, tag)
		binary.LittleEndian.PutUint64(r[16:], gpa)
		return r
	}
	page := func(gpa uint64, data []byte) []byte {
		var out []byte
		for c := 0; c < 16; c++ {
			out = append(out, rec("MR.EXTEND", gpa+uint64(c*256))...)
			out = append(out, data[c*256:(c+1)*256]...)
		}
		return out
	}
	zero := make([]byte, 4096)
	cfvAndAug := [][]byte{rec("MEM.PAGE.ADD", 0xffffd000)}
	cases := []struct {
		order  tdx.Order
		stream [][]byte
	}{
		{tdx.SinglePass, [][]byte{
			rec("MEM.PAGE.ADD", 0xffffe000), page(0xffffe000, img[0x1000:0x2000]),
			rec("MEM.PAGE.ADD", 0xfffff000), page(0xfffff000, img[0x2000:0x3000]),
			concat(cfvAndAug),
			rec("MEM.PAGE.ADD", 0x800000), page(0x800000, zero),
			rec("MEM.PAGE.ADD", 0x900000),
		}},
		{tdx.TwoPass, [][]byte{
			rec("MEM.PAGE.ADD", 0xffffe000), rec("MEM.PAGE.ADD", 0xfffff000),
			page(0xffffe000, img[0x1000:0x2000]), page(0xfffff000, img[0x2000:0x3000]),
			concat(cfvAndAug),
			rec("MEM.PAGE.ADD", 0x800000), page(0x800000, zero),
			rec("MEM.PAGE.ADD", 0x900000),
		}},
	}
	for _, c := range cases {
		t.Run(c.order.String(), func(t *testing.T) {
			want := sha512.Sum384(concat(c.stream))
			got, err := tdx.MRTD(img, c.order)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("MRTD = %x, want %x", got, want)
			}
		})
	}
}

// QEMU's own refusals (hw/i386/tdvf.c), and what MRTD cannot know.
func TestMRTDRefusesWhatQEMURefuses(t *testing.T) {
	bfv := ovmf.TDXSection{DataOffset: 0, RawSize: 0x1000, GPA: 0xfffff000, MemSize: 0x1000, Type: ovmf.BFV, Attributes: ovmf.AttrMRExtend}
	tmp := ovmf.TDXSection{GPA: 0x800000, MemSize: 0x1000, Type: ovmf.TempMem}
	for _, c := range []struct {
		name string
		secs []ovmf.TDXSection
		want string
	}{
		{"one section", []ovmf.TDXSection{bfv}, "at least 2"},
		{"BFV without data", []ovmf.TDXSection{{GPA: 0xfffff000, MemSize: 0x1000, Type: ovmf.BFV}, tmp}, "no raw data"},
		{"TempMem with data", []ovmf.TDXSection{bfv, {RawSize: 0x10, GPA: 0x800000, MemSize: 0x1000, Type: ovmf.TempMem}}, "raw data of"},
		{"measured HOB", []ovmf.TDXSection{bfv, {GPA: 0x800000, MemSize: 0x1000, Type: ovmf.TDHOB, Attributes: ovmf.AttrMRExtend}}, "TD HOB"},
		{"PermMem", []ovmf.TDXSection{bfv, {GPA: 0x800000, MemSize: 0x1000, Type: ovmf.PermMem}}, "does not load"},
		{"BFV past the image", []ovmf.TDXSection{{DataOffset: 0x3000, RawSize: 0x1000, GPA: 0xffff0000, MemSize: 0x2000, Type: ovmf.BFV}, tmp}, "runs past"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := ovmftest.Build(ovmftest.Image{Size: 0x4000, TDX: c.secs})
			_, err := tdx.MRTD(img, tdx.SinglePass)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func concat(parts [][]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestMRTDRefuses(t *testing.T) {
	for _, c := range []struct {
		name  string
		fw    []byte
		order tdx.Order
		want  string
	}{
		{"bad order", make([]byte, 0x4000), tdx.Order(7), "page order"},
		{"no footer", make([]byte, 0x4000), tdx.SinglePass, "not found"},
		{"tiny", []byte{1, 2, 3}, tdx.SinglePass, "too short"},
		{"SEV only", ovmftest.Build(ovmftest.Image{Size: 0x4000, ResetEIP: 1}), tdx.TwoPass, "TDX metadata"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := tdx.MRTD(c.fw, c.order)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}
