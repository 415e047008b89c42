package attest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Document is the attestation document served at GET /v1/attestation.
// Byte fields travel as base64 (encoding/json's []byte form).
type Document struct {
	Format       string   `json:"format"`
	Platform     Platform `json:"platform"`
	Report       []byte   `json:"report"`
	Certificates []byte   `json:"certificates,omitempty"`
	Collateral   []byte   `json:"collateral,omitempty"`
	// KeyConfig is the OHTTP key configuration exactly as served with
	// media type application/ohttp-keys (RFC 9458 section 3); REPORT_DATA
	// binds its SHA-256.
	KeyConfig []byte `json:"ohttp_keys"`
	// Manifest is the server's copy, for convenience only: Verify checks
	// against the manifest the client brings, never this one.
	Manifest json.RawMessage `json:"manifest,omitempty"`
}

// Size limits, far above real documents (an SNP report is 1184 bytes, a TDX
// quote about 5 KiB, certificate tables and collateral tens of KiB), so a
// hostile server cannot make a client allocate without bound.
const (
	MaxDocumentSize  = 4 << 20
	maxReport        = 64 << 10
	maxCertificates  = 1 << 20
	maxCollateral    = 2 << 20
	maxKeyConfig     = 64 << 10
	maxManifestBytes = 1 << 20
)

// ErrFormat marks documents and manifests that are not in a format this
// verifier knows.
var ErrFormat = errors.New("unknown or malformed format")

// NewDocument asks p for evidence binding nonce and keyConfig and returns the
// JSON document. manifest may be nil.
func NewDocument(ctx context.Context, p Provider, nonce, keyConfig, manifest []byte) ([]byte, error) {
	rd, err := ReportData(nonce, keyConfig)
	if err != nil {
		return nil, err
	}
	if manifest != nil && !json.Valid(manifest) {
		return nil, fmt.Errorf("attest: manifest: not JSON: %w", ErrFormat)
	}
	ev, err := p.Evidence(ctx, rd)
	if err != nil {
		return nil, fmt.Errorf("attest: %s evidence: %w", p.Platform(), err)
	}
	doc := Document{
		Format:       DocumentFormat,
		Platform:     ev.Platform,
		Report:       ev.Report,
		Certificates: ev.Certificates,
		Collateral:   ev.Collateral,
		KeyConfig:    keyConfig,
		Manifest:     manifest,
	}
	if err := doc.check(); err != nil {
		return nil, err
	}
	return json.Marshal(&doc)
}

// ParseDocument decodes a document strictly: unknown members, a different
// format URI, trailing data, an unknown platform or oversized fields are
// errors.
func ParseDocument(b []byte) (*Document, error) {
	if len(b) > MaxDocumentSize {
		return nil, fmt.Errorf("attest: document of %d bytes: larger than %d", len(b), MaxDocumentSize)
	}
	var d Document
	if err := decodeStrict(b, &d); err != nil {
		return nil, fmt.Errorf("attest: document: %w", err)
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return &d, nil
}

func (d *Document) check() error {
	if d.Format != DocumentFormat {
		return fmt.Errorf("attest: document format %q, want %q: %w", d.Format, DocumentFormat, ErrFormat)
	}
	switch d.Platform {
	case SEVSNP, TDX, Dev:
	default:
		return fmt.Errorf("attest: document platform %q: %w", d.Platform, ErrFormat)
	}
	for _, f := range []struct {
		name string
		n    int
		max  int
		need bool
	}{
		{"report", len(d.Report), maxReport, true},
		{"certificates", len(d.Certificates), maxCertificates, false},
		{"collateral", len(d.Collateral), maxCollateral, false},
		{"ohttp_keys", len(d.KeyConfig), maxKeyConfig, true},
		{"manifest", len(d.Manifest), maxManifestBytes, false},
	} {
		if f.need && f.n == 0 {
			return fmt.Errorf("attest: document %s: %w", f.name, ErrEmpty)
		}
		if f.n > f.max {
			return fmt.Errorf("attest: document %s of %d bytes: larger than %d", f.name, f.n, f.max)
		}
	}
	return nil
}

// decodeStrict decodes exactly one JSON value with no unknown members. On
// top of DisallowUnknownFields it refuses what encoding/json forgives:
// member names in another case ("Format") and duplicate members, which two
// parsers could read differently.
func decodeStrict(b []byte, v any) error {
	if err := checkMembers(json.NewDecoder(bytes.NewReader(b)), reflect.TypeOf(v), 0); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// maxDepth bounds nesting so a hostile document cannot recurse without end.
const maxDepth = 64

// checkMembers walks one JSON value, refusing duplicate members anywhere
// and, where the value decodes into a struct, members whose name is not
// exactly a field's json name. t is the Go type the value decodes into, or
// nil where any JSON is allowed (json.RawMessage).
func checkMembers(dec *json.Decoder, t reflect.Type, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("JSON nested deeper than %d", maxDepth)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(json.RawMessage(nil)) {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if seen[key] {
				return fmt.Errorf("member %q appears twice", key)
			}
			seen[key] = true
			var ft reflect.Type
			if t != nil && t.Kind() == reflect.Struct {
				f, ok := fieldByJSONName(t, key)
				if !ok {
					return fmt.Errorf("unknown field %q (names are case-sensitive)", key)
				}
				ft = f
			} else if t != nil && t.Kind() == reflect.Map {
				ft = t.Elem()
			}
			if err := checkMembers(dec, ft, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for dec.More() {
			if err := checkMembers(dec, et, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

func fieldByJSONName(t reflect.Type, name string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" {
			tag = f.Name
		}
		if f.IsExported() && tag == name && tag != "-" {
			return f.Type, true
		}
	}
	return nil, false
}
