package attest

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Manifest records an image's inputs and the launch measurements a verifier
// must expect. The image builder writes it; its JSON is stable within
// ManifestFormat. Digests are lower-case hex.
type Manifest struct {
	Format  string `json:"format"`
	Version string `json:"version,omitempty"` // pith version that built the image
	// Model is the model file whose SHA-256 sits on the measured command line.
	Model *Artifact `json:"model,omitempty"`
	// Cmdline is the measured kernel command line, exactly.
	Cmdline string     `json:"cmdline,omitempty"`
	Inputs  []Artifact `json:"inputs,omitempty"`  // kernel, firmware, modules...
	Outputs []Artifact `json:"outputs,omitempty"` // initrd, kernel, image files

	SEVSNP []SNPMeasurement `json:"sev_snp,omitempty"`
	TDX    *TDXMeasurement  `json:"tdx,omitempty"`
	Dev    *DevEntry        `json:"dev,omitempty"`
}

// Artifact is one file by name and digest.
type Artifact struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size,omitempty"`
	Source string `json:"source,omitempty"` // where it came from (URL, package)
}

// SNPMeasurement is the SEV-SNP launch digest (MEASUREMENT, 48 bytes) for one
// vCPU count and type; the VMSA of every vCPU and the guest features word
// are inputs of the digest, so each combination has its own value.
type SNPMeasurement struct {
	VCPUs         int    `json:"vcpus"`
	VCPUType      string `json:"vcpu_type"`
	GuestFeatures uint64 `json:"guest_features"`
	Measurement   string `json:"measurement"`
}

// TDXMeasurement holds the expected TD measurements (48 bytes each). An empty
// RTMR is not checked, and the verifier says so: NotPinned gives the reason
// per register (RTMR0 covers the host's ACPI tables, TD HOB and varstore).
type TDXMeasurement struct {
	MRTD  string `json:"mrtd"`
	RTMR0 string `json:"rtmr0,omitempty"`
	RTMR1 string `json:"rtmr1,omitempty"`
	RTMR2 string `json:"rtmr2,omitempty"`
	// Boot names the boot path RTMR1 and RTMR2 were computed for.
	Boot string `json:"boot,omitempty"`
	// NotPinned maps "rtmr0".."rtmr2" to why that register has no value.
	NotPinned map[string]string `json:"not_pinned,omitempty"`
	// Warning says why this image may not boot as a TD at all (for the
	// image's operator; a verifier needs nothing from it).
	Warning string `json:"warning,omitempty"`
}

// RTMRs returns RTMR0..2 in order.
func (t *TDXMeasurement) RTMRs() [3]string { return [3]string{t.RTMR0, t.RTMR1, t.RTMR2} }

// DevEntry is what the stand-in reports: SHA-384 of the executable (named
// so because the function DevMeasurement computes it).
type DevEntry struct {
	Measurement string `json:"measurement"`
}

// ParseManifest decodes a manifest strictly and checks every expected
// measurement is 48 bytes of hex.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("attest: manifest of %d bytes: larger than %d", len(b), maxManifestBytes)
	}
	var m Manifest
	if err := decodeStrict(b, &m); err != nil {
		return nil, fmt.Errorf("attest: manifest: %w", err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("attest: manifest format %q, want %q: %w", m.Format, ManifestFormat, ErrFormat)
	}
	for i, s := range m.SEVSNP {
		if s.VCPUs <= 0 || s.VCPUs > 4096 {
			return nil, fmt.Errorf("attest: manifest sev_snp[%d] vcpus %d: want 1..4096: %w", i, s.VCPUs, ErrFormat)
		}
		if err := checkHex48(fmt.Sprintf("sev_snp[%d].measurement", i), s.Measurement, false); err != nil {
			return nil, err
		}
	}
	if t := m.TDX; t != nil {
		for _, f := range []struct {
			name, v  string
			optional bool
		}{{"mrtd", t.MRTD, false}, {"rtmr0", t.RTMR0, true}, {"rtmr1", t.RTMR1, true}, {"rtmr2", t.RTMR2, true}} {
			if err := checkHex48("tdx."+f.name, f.v, f.optional); err != nil {
				return nil, err
			}
		}
		for k := range t.NotPinned {
			i := map[string]int{"rtmr0": 0, "rtmr1": 1, "rtmr2": 2}
			n, ok := i[k]
			if !ok {
				return nil, fmt.Errorf("attest: manifest tdx.not_pinned names %q: want rtmr0, rtmr1 or rtmr2: %w", k, ErrFormat)
			}
			if t.RTMRs()[n] != "" {
				return nil, fmt.Errorf("attest: manifest tdx.%s has a value and is listed as not pinned: %w", k, ErrFormat)
			}
		}
	}
	if m.Dev != nil {
		if err := checkHex48("dev.measurement", m.Dev.Measurement, false); err != nil {
			return nil, err
		}
	}
	if m.Model != nil {
		if b, err := hex.DecodeString(m.Model.SHA256); err != nil || len(b) != 32 {
			return nil, fmt.Errorf("attest: manifest model.sha256 %q: want 64 hex digits: %w", m.Model.SHA256, ErrFormat)
		}
	}
	return &m, nil
}

func checkHex48(name, v string, optional bool) error {
	if v == "" && optional {
		return nil
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != 48 || v != strings.ToLower(v) {
		return fmt.Errorf("attest: manifest %s %q: want 96 lower-case hex digits: %w", name, v, ErrFormat)
	}
	return nil
}
