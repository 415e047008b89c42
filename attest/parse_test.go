package attest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseDocumentStrict(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{
			"format": DocumentFormat, "platform": "sev-snp",
			"report": []byte{1, 2, 3}, "ohttp_keys": []byte{4},
		}
	}
	enc := func(m map[string]any) []byte { b, _ := json.Marshal(m); return b }
	if _, err := ParseDocument(enc(good())); err != nil {
		t.Fatalf("good document: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		raw  []byte
		want string
	}{
		{"unknown member", func(m map[string]any) { m["extra"] = 1 }, nil, "unknown field"},
		{"other format", func(m map[string]any) { m["format"] = "https://github.com/pith-project/pith/attestation/v2" }, nil, "format"},
		{"no format", func(m map[string]any) { delete(m, "format") }, nil, "format"},
		{"unknown platform", func(m map[string]any) { m["platform"] = "sgx" }, nil, "platform"},
		{"no report", func(m map[string]any) { delete(m, "report") }, nil, "report"},
		{"no key config", func(m map[string]any) { delete(m, "ohttp_keys") }, nil, "ohttp_keys"},
		{"report too large", func(m map[string]any) { m["report"] = make([]byte, maxReport+1) }, nil, "report"},
		{"not base64", func(m map[string]any) { m["report"] = "!!" }, nil, "illegal base64"},
		{"other case", func(m map[string]any) { m["Format"] = m["format"]; delete(m, "format") }, nil, "case-sensitive"},
		{"duplicate member", nil, []byte(`{"format":"` + DocumentFormat + `","platform":"dev","platform":"sev-snp","report":"AQ==","ohttp_keys":"AQ=="}`), "twice"},
		{"duplicate inside the manifest", func(m map[string]any) { m["manifest"] = json.RawMessage(`{"a":1,"a":2}`) }, nil, "twice"},
		{"deep manifest", func(m map[string]any) {
			m["manifest"] = json.RawMessage(strings.Repeat("[", 100) + strings.Repeat("]", 100))
		}, nil, "deeper"},
		{"trailing data", nil, append(enc(good()), []byte(` {}`)...), "trailing"},
		{"two documents", nil, append(enc(good()), enc(good())...), "trailing"},
		{"not JSON", nil, []byte("<html>"), "invalid character"},
		{"empty", nil, nil, "EOF"},
		{"too large", nil, make([]byte, MaxDocumentSize+1), "larger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.raw
			if tc.edit != nil {
				m := good()
				tc.edit(m)
				b = enc(m)
			}
			if _, err := ParseDocument(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseManifestStrict(t *testing.T) {
	h48 := strings.Repeat("ab", 48)
	good := `{"format":"` + ManifestFormat + `","model":{"name":"qwen2.5-0.5b-q4_0.gguf","sha256":"` + strings.Repeat("cd", 32) + `","size":349000000},` +
		`"cmdline":"console=ttyS0 pith.model=sha256:x","sev_snp":[{"vcpus":4,"vcpu_type":"EPYC-v4","guest_features":1,"measurement":"` + h48 + `"}],` +
		`"tdx":{"mrtd":"` + h48 + `","rtmr1":"` + h48 + `","boot":"direct","not_pinned":{"rtmr0":"platform"}},"dev":{"measurement":"` + h48 + `"}}`
	m, err := ParseManifest([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.SEVSNP[0].VCPUs != 4 || m.TDX.RTMR0 != "" || m.TDX.NotPinned["rtmr0"] != "platform" || m.Model.Size != 349000000 {
		t.Fatalf("%+v", m)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown member", `"cmdline"`, `"kernel_cmdline"`, "unknown field"},
		{"other case inside a list", `"vcpus":4`, `"VCPUs":4`, "case-sensitive"},
		{"duplicate", `"cmdline"`, `"version":"a","version"`, "twice"},
		{"other format", "manifest/v1", "manifest/v9", "format"},
		{"short measurement", `"measurement":"` + h48, `"measurement":"` + h48[2:], "96 lower-case hex"},
		{"upper-case hex", `"mrtd":"` + h48, `"mrtd":"` + strings.ToUpper(h48), "96 lower-case hex"},
		{"zero vCPUs", `"vcpus":4`, `"vcpus":0`, "vcpus"},
		{"bad model digest", `"sha256":"cd`, `"sha256":"zz`, "model.sha256"},
		{"no mrtd", `"mrtd":"` + h48 + `",`, ``, "tdx.mrtd"},
		{"not_pinned with a value", `"rtmr0":"platform"`, `"rtmr1":"why"`, "listed as not pinned"},
		{"not_pinned names MRTD", `"rtmr0":"platform"`, `"mrtd":"why"`, "want rtmr0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := strings.Replace(good, tc.old, tc.new, 1)
			if b == good {
				t.Fatal("edit did not apply")
			}
			if _, err := ParseManifest([]byte(b)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDevReportTampering(t *testing.T) {
	ctx := context.Background()
	p, err := NewDevProvider(nil)
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{1}, 32)
	b, err := NewDocument(ctx, p, nonce, []byte("kc"), []byte(`{"format":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	pol := DefaultPolicy()
	pol.AllowDev = true
	m := devManifest(t)
	for _, tc := range []struct {
		name  string
		off   int
		check string
	}{
		{"report data", 20, "signature"},
		{"measurement", 80, "signature"},
		{"signature", 300, "signature"},
		{"magic", 0, "report"},
		{"public key", 130, "report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := *doc
			d.Report = flipBit(doc.Report, tc.off)
			_, err := Verify(&d, nonce, pol, m)
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Check.Name != tc.check {
				t.Fatalf("err = %v, want check %s", err, tc.check)
			}
		})
	}
	other := &Manifest{Format: ManifestFormat, Dev: &DevEntry{Measurement: strings.Repeat("00", 48)}}
	if _, err := Verify(doc, nonce, pol, other); err == nil || !strings.HasPrefix(err.Error(), "verify: measurement:") {
		t.Fatalf("other dev measurement: %v", err)
	}
	if _, err := Verify(doc, nonce, pol, nil); err == nil || !strings.HasPrefix(err.Error(), "verify: measurement:") {
		t.Fatalf("no manifest: %v", err)
	}
	if _, err := p.DerivedSecret(ctx); !errors.Is(err, ErrNoDerivedKey) {
		t.Fatalf("dev DerivedSecret: %v", err)
	}
	if _, err := NewDocument(ctx, p, nonce[:5], []byte("kc"), nil); !errors.Is(err, ErrNonceSize) {
		t.Fatalf("short nonce: %v", err)
	}
}

func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(`{"format":"` + DocumentFormat + `","platform":"dev","report":"AQID","ohttp_keys":"BA=="}`))
	f.Add([]byte(`{"format":"` + DocumentFormat + `","platform":"tdx","report":"AQID","ohttp_keys":"BA==","manifest":{"a":[1,2]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDocument(b)
		if err != nil {
			return
		}
		// What parses must satisfy the invariants and survive a round trip.
		if d.Format != DocumentFormat || len(d.Report) == 0 || len(d.Report) > maxReport || len(d.KeyConfig) == 0 {
			t.Fatalf("accepted %+v", d)
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseDocument(again); err != nil {
			t.Fatalf("re-encoded document refused: %v", err)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	h48 := strings.Repeat("ab", 48)
	f.Add([]byte(`{"format":"` + ManifestFormat + `","sev_snp":[{"vcpus":2,"vcpu_type":"EPYC","guest_features":1,"measurement":"` + h48 + `"}]}`))
	f.Add([]byte(`{"format":"` + ManifestFormat + `","tdx":{"mrtd":"` + h48 + `"},"dev":{"measurement":"` + h48 + `"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, e := range m.SEVSNP {
			if e.VCPUs <= 0 || len(e.Measurement) != 96 {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

func FuzzParseTDXCollateral(f *testing.F) {
	f.Add([]byte(`{"tcb_info":"e30=","tcb_info_issuer_chain":"x","qe_identity":"e30=","qe_identity_issuer_chain":"","pck_crl":"","pck_crl_issuer_chain":"","root_crl":""}`))
	f.Add([]byte(`{"tcb_info":"e30=","tcb_info":"e30="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseTDXCollateral(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseTDXCollateral(again); err != nil {
			t.Fatalf("re-encoded collateral refused: %v", err)
		}
	})
}
