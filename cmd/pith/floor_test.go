package main

import (
	"bytes"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
)

// TestFloorFlagsApply: each policy flag reaches the attest.Policy field it
// names, including the relaxations no genuine sample can fail without.
func TestFloorFlagsApply(t *testing.T) {
	key1, key2 := bytes.Repeat([]byte{0x11}, 48), bytes.Repeat([]byte{0x22}, 48)
	for _, tc := range []struct {
		args []string
		want attest.Policy
	}{
		{nil, attest.Policy{}},
		{[]string{"--allow-snp-cxl"}, attest.Policy{AllowCXL: true}},
		{[]string{"--allow-snp-vmpl", "2"}, attest.Policy{MaxSNPVMPL: 2}},
		{[]string{"--allow-tdx-sept-ve"}, attest.Policy{AllowTDXSEPTVE: true}},
		{[]string{"--allow-host-data"}, attest.Policy{AllowHostData: true}},
		{[]string{"--require-snp-platform", "rapl-disabled, alias-check-complete,rapl-disabled"},
			attest.Policy{RequireSNPPlatform: []attest.SNPPlatformFeature{attest.SNPRAPLDisabled, attest.SNPAliasCheckComplete}}},
		{[]string{"--min-tdx-qe-svn", "4", "--min-tdx-pce-svn", "65535"}, attest.Policy{MinTDXQESVN: 4, MinTDXPCESVN: 65535}},
		{[]string{"--min-tdx-tcb-evaluation", "17"}, attest.Policy{MinTDXTCBEvaluationDataNumber: 17}},
		{[]string{"--snp-id-key-digest", strings.Repeat("11", 48), "--snp-id-key-digest", strings.Repeat("22", 48), "--min-snp-guest-svn", "7"},
			attest.Policy{SNPIDKeyDigests: [][]byte{key1, key2}, MinSNPGuestSVN: 7}},
	} {
		var f floorFlags
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f.declare(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		var got attest.Policy
		if err := f.apply(&got); err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
}

// TestFloorFlagsRefusedFirst: summarize and proxy refuse a bad policy flag
// before they read the manifest or ask the enclave.
func TestFloorFlagsRefusedFirst(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"summarize", "--allow-snp-vmpl", "9", "c.txt"}, "--allow-snp-vmpl 9: at most 3"},
		{[]string{"proxy", "--min-tdx-qe-svn", "70000"}, "--min-tdx-qe-svn 70000: at most 65535"},
		{[]string{"proxy", "--snp-id-key-digest", "zz"}, `--snp-id-key-digest "zz": want a SHA-384 digest`},
		{[]string{"summarize", "--min-snp-guest-svn", "2", "c.txt"}, "--min-snp-guest-svn needs --snp-id-key-digest"},
		{[]string{"proxy", "--require-snp-platform", "rapl-disabled,tsme"}, `--require-snp-platform: "tsme" is not one of [ecc rapl-disabled ciphertext-hiding alias-check-complete]`},
		{[]string{"summarize", "--require-snp-platform", "ecc,", "c.txt"}, `--require-snp-platform: "" is not one of`},
	} {
		args := append([]string{tc.args[0], "--url", "http://127.0.0.1:1", "--manifest", "/nonexistent/m.json"}, tc.args[1:]...)
		var out, errb bytes.Buffer
		if code := runMain(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("pith %v: exit %d, stderr %q; want 2 and %q", args, code, errb.String(), tc.want)
		}
	}
}
