package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/model/synth"
)

func TestImageUsage(t *testing.T) {
	tmp := t.TempDir()
	model := filepath.Join(tmp, "tiny.gguf")
	var buf bytes.Buffer
	if err := synth.Generate(&buf, synth.Options{Shape: "tiny-llama3", Type: "q8_0", Seed: 1, Builtin: true}); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(tmp, "text.txt")
	for name, b := range map[string][]byte{model: buf.Bytes(), text: []byte("hello\n")} {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(tmp, "img")
	build := func(args ...string) []string {
		return append([]string{"build", "--model", model, "--out", out}, args...)
	}
	tests := []struct {
		name    string
		args    []string
		usage   bool   // a usageError (exit status 2)
		wantErr string // "" for success
		wantOut string
	}{
		{"build help", []string{"build", "--help"}, false, "", "pith image build --model qwen.gguf --out image-out"},
		{"build help names kernel-hashes", []string{"build", "-h"}, false, "", "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on"},
		{"measure help", []string{"measure", "-h"}, false, "", "pith image measure image-out"},
		{"no sub-command", nil, true, "build or measure", ""},
		{"unknown", []string{"burn"}, true, "unknown image command", ""},
		{"no model", []string{"build", "--out", "x"}, true, "--model and --out", ""},
		{"bad vcpus", []string{"build", "--model", "m", "--out", "o", "--vcpus", "two"}, true, "--vcpus", ""},
		{"zero vcpus", []string{"build", "--model", "m", "--out", "o", "--vcpus", "2,0"}, true, "--vcpus", ""},
		{"too many vcpus", []string{"build", "--model", "m", "--out", "o", "--vcpus", "2,513"}, true, "want counts from 1 to 512", ""},
		{"empty type", []string{"build", "--model", "m", "--out", "o", "--vcpu-type", "EPYC-v4,"}, true, "empty CPU model", ""},
		{"bad features", []string{"build", "--model", "m", "--out", "o", "--guest-features", "snp"}, true, "--guest-features", ""},
		{"unknown cpu model", build("--vcpu-type", "EPYC-v4,EPYC-Milam"), true, `--vcpu-type: sevsnp: vcpu type "EPYC-Milam": unknown`, ""},
		{"features without SNPActive", build("--guest-features", "0x21,0x20"), true, "--guest-features: 0x20 lacks SNPActive", ""},
		{"extra args", []string{"build", "--model", "m", "--out", "o", "more"}, true, "unexpected arguments", ""},
		{"help pointer", []string{"build", "--out", "x"}, true, "(see 'pith image build --help')", ""},
		{"measure help pointer", []string{"measure"}, true, "(see 'pith image measure --help')", ""},
		{"model is text", []string{"build", "--model", text, "--out", out}, true, "--model: not a GGUF model", ""},
		{"attest bogus", build("--attest", "bogus"), true, "--attest: pith-init would refuse it", ""},
		{"net garbage", build("--net", "garbage"), true, "--net: pith-init would refuse it", ""},
		{"listen nonsense", build("--listen", "nonsense"), true, "--listen: pith-init would refuse it at boot: pid1: command line: pith.listen=\"nonsense\": want HOST:PORT", ""},
		{"out is a file", []string{"build", "--model", model, "--out", text}, true, "--out: " + text + " exists and is not a folder (see 'pith image build --help')", ""},
		{"measure no dir", []string{"measure"}, true, "one DIR", ""},
		{"measure missing", []string{"measure", filepath.Join(t.TempDir(), "none")}, false, "no such file", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runImage(context.Background(), tc.args, &out)
			// A sub-command's usage error names its own help (runMain
			// adds 'pith image --help' to the others).
			if sub := tc.args; tc.usage && len(sub) > 0 && (sub[0] == "build" || sub[0] == "measure") &&
				!strings.Contains(err.Error(), "(see 'pith image "+sub[0]+" --help')") {
				t.Errorf("err = %v, names not 'pith image %s --help'", err, sub[0])
			}
			var ue usageError
			if tc.usage != errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), usage error wanted: %v", err, err, tc.usage)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Fatalf("output lacks %q:\n%s", tc.wantOut, out.String())
			}
			if _, err := os.Stat(filepath.Join(tmp, "img")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("refused build made its output folder: %v", err)
			}
		})
	}
}

// TestImageBuildMeasure builds an image through the command, measures it
// (all values match), then changes one byte of the initramfs and one of the
// command line, and wants measure to name what no longer matches.
func TestImageBuildMeasure(t *testing.T) {
	if testing.Short() {
		t.Skip("image builds are not short")
	}
	for _, d := range []inputs.Deb{inputs.CloudKernel, inputs.OVMFAmdSev, inputs.OVMFIntelTDX} {
		if _, err := inputs.Fetch(context.Background(), d); err != nil {
			if errors.Is(err, inputs.ErrUnavailable) && !oracle.Mandatory() {
				t.Skipf("pinned package unavailable here: %v", err)
			}
			t.Fatal(err)
		}
	}
	tmp := t.TempDir()
	model := filepath.Join(tmp, "tiny.gguf")
	var buf bytes.Buffer
	if err := synth.Generate(&buf, synth.Options{Shape: "tiny-llama3", Type: "q8_0", Seed: 1, Builtin: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(model, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "img")
	var out bytes.Buffer
	if err := runImage(context.Background(), []string{"build", "--model", model, "--out", dir, "--vcpus", "1,2", "--vcpu-type", "EPYC-Milan", "--guest-features", "0x21,0x1"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SEV-SNP measurement (1 vCPU EPYC-Milan, guest features 0x21)", "SEV-SNP measurement (2 vCPU EPYC-Milan, guest features 0x1)",
		"TDX MRTD (single-pass)", "TDX RTMR1: ", "TDX RTMR0: not pinned: platform-dependent", "OVMF.inteltdx.fd", "initrd.img", "pith.model.sha256="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	// The image's TDVF has no Secure Boot keys, so nothing refuses its kernel.
	if strings.Contains(out.String(), "TDX WARNING") {
		t.Errorf("summary warns about the TDX firmware:\n%s", out.String())
	}
	out.Reset()
	if err := runImage(context.Background(), []string{"measure", "--model", model, dir}, &out); err != nil || !strings.Contains(out.String(), "match the manifest") {
		t.Fatalf("measure of a fresh image: %v\n%s", err, out.String())
	}
	other := filepath.Join(tmp, "other.gguf")
	if err := os.WriteFile(other, buf.Bytes()[:buf.Len()-1], 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runImage(context.Background(), []string{"measure", "--model", other, dir}, &out); err == nil ||
		!strings.Contains(out.String(), "MISMATCH model SHA-256") || !strings.Contains(out.String(), "MISMATCH model size") {
		t.Fatalf("measure accepted another model: %v\n%s", err, out.String())
	}

	// A manifest whose model entry names the other file, while the
	// measured command line still names the first: measure must not let
	// the other file pass as the model the image accepts.
	manifest := filepath.Join(dir, "manifest.json")
	orig, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var man map[string]any
	if err := json.Unmarshal(orig, &man); err != nil {
		t.Fatal(err)
	}
	otherSum := sha256.Sum256(buf.Bytes()[:buf.Len()-1])
	man["model"] = map[string]any{"name": "other.gguf", "sha256": hex.EncodeToString(otherSum[:]), "size": buf.Len() - 1}
	forged, err := json.Marshal(man)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runImage(context.Background(), []string{"measure", "--model", other, dir}, &out); err == nil ||
		!strings.Contains(out.String(), "MISMATCH model SHA-256 on the command line") || !strings.Contains(out.String(), "MISMATCH model size on the command line") {
		t.Fatalf("measure took a manifest whose model is not the command line's: %v\n%s", err, out.String())
	}
	if err := os.WriteFile(manifest, orig, 0o644); err != nil {
		t.Fatal(err)
	}

	flip := func(name string, at int) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		b[at] ^= 1
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flip("initrd.img", 1000)
	flip("cmdline", 0)
	out.Reset()
	err = runImage(context.Background(), []string{"measure", dir}, &out)
	if err == nil {
		t.Fatalf("measure accepted a changed image:\n%s", out.String())
	}
	// RTMR2 covers the initrd and the command line; RTMR1 (the kernel)
	// and MRTD (the firmware) must not move.
	for _, want := range []string{"MISMATCH initrd.img SHA-256", "MISMATCH cmdline SHA-256", "MISMATCH cmdline:", "MISMATCH SEV-SNP measurement (1 x EPYC-Milan, features 0x21)", "MISMATCH TDX RTMR2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("measure output lacks %q:\n%s", want, out.String())
		}
	}
	for _, not := range []string{"MISMATCH TDX MRTD", "MISMATCH TDX RTMR1", "MISMATCH TDX RTMR0"} {
		if strings.Contains(out.String(), not) {
			t.Errorf("measure output has %q, yet neither firmware nor kernel changed:\n%s", not, out.String())
		}
	}
}
