package tdx_test

import (
	"encoding/hex"
	"testing"

	"github.com/pith-project/pith/image/measure/ovmf"
	"github.com/pith-project/pith/image/measure/ovmf/ovmftest"
	"github.com/pith-project/pith/image/measure/tdx"
)

// craftedTDVF is a small TDVF image with the four section types QEMU
// loads, a BFV with varied bytes and a CFV, so its MRTD vectors run with no
// download.
func craftedTDVF() []byte {
	img := ovmftest.Build(ovmftest.Image{
		Size: 0x10000, ResetEIP: 0x80b004, Fill: 0x5a,
		TDX: []ovmf.TDXSection{
			{DataOffset: 0x4000, RawSize: 0x8000, GPA: 0xffff4000, MemSize: 0x8000, Type: ovmf.BFV, Attributes: ovmf.AttrMRExtend},
			{DataOffset: 0, RawSize: 0x4000, GPA: 0xffff0000, MemSize: 0x4000, Type: ovmf.CFV},
			{GPA: 0x810000, MemSize: 0x3000, Type: ovmf.TempMem},
			{GPA: 0x809000, MemSize: 0x2000, Type: ovmf.TDHOB},
		},
	})
	for i := 0x4000; i < 0xc000; i++ {
		img[i] = byte(i * 131 >> 3)
	}
	return img
}

// The expected values were computed on craftedTDVF() written to a file,
// 2026-11-25, by the same tools as testdata/tdx.json: single-pass with
// confidential-containers/td-shim td_shim_tee_info_hash.py (commit
// 125eeab58f69b891175c8803b4a824bfed7389c1, `-i FILE`), two-pass with
// quex-tech/td-report-web docs/reproduce.mjs (commit
// d857138db0b094bbe01ec390f710bec544516299, reproduceMrtd over its own
// getTdxMetadataSections), whose harness also gave the two-pass value of
// tdx.json for the Debian firmware.
func TestMRTDCraftedVectors(t *testing.T) {
	img := craftedTDVF()
	for _, c := range []struct {
		order tdx.Order
		want  string
	}{
		{tdx.SinglePass, "95490466a9a7a0fafa31614f6129157648da10b7a25a824626c0b810638b5f31236b671b37b1bf0867e4d4ca751a10e5"},
		{tdx.TwoPass, "402b43a5a706b71692c8b7abec83ede73f17731ef73cefa4bd30f7eda1c3db86a0ff9fec77aab45fbe9108c2500ab09e"},
	} {
		t.Run(c.order.String(), func(t *testing.T) {
			got, err := tdx.MRTD(img, c.order)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got[:]) != c.want {
				t.Errorf("MRTD = %x\n       want %s", got, c.want)
			}
		})
	}
}
