package ollamastore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fakeStore lays out a store as ollama does: a manifest with config,
// template and model layers, and content-addressed blobs.
func fakeStore(t *testing.T, model []byte, tamper func(dir, digest string)) string {
	t.Helper()
	dir := t.TempDir()
	blob := func(b []byte) string {
		sum := sha256.Sum256(b)
		d := hex.EncodeToString(sum[:])
		os.MkdirAll(filepath.Join(dir, "blobs"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256-"+d), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := []byte(`{"model_format":"gguf","model_family":"qwen2"}`)
	tmpl := []byte("{{ .Prompt }}")
	md := blob(model)
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
		"config":        map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "digest": "sha256:" + blob(cfg), "size": len(cfg)},
		"layers": []map[string]any{
			{"mediaType": ModelMediaType, "digest": "sha256:" + md, "size": len(model)},
			{"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + blob(tmpl), "size": len(tmpl)},
		},
	}
	raw, _ := json.Marshal(m)
	mdir := filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "qwen2.5")
	os.MkdirAll(mdir, 0o755)
	if err := os.WriteFile(filepath.Join(mdir, "0.5b"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(dir, md)
	}
	return dir
}

func TestFind(t *testing.T) {
	gguf := []byte("GGUF\x03\x00\x00\x00 pretend model bytes")
	sum := sha256.Sum256(gguf)
	dir := fakeStore(t, gguf, nil)
	for _, name := range []string{"qwen2.5:0.5b", "library/qwen2.5:0.5b", "registry.ollama.ai/library/qwen2.5:0.5b"} {
		m, err := Find(dir, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.SHA256 != hex.EncodeToString(sum[:]) || m.Size != int64(len(gguf)) || !strings.HasSuffix(m.Path, "sha256-"+m.SHA256) {
			t.Errorf("%s: %+v", name, m)
		}
		if m.Name != "registry.ollama.ai/library/qwen2.5:0.5b" {
			t.Errorf("resolved name %q", m.Name)
		}
	}
	t.Setenv("OLLAMA_MODELS", dir)
	if _, err := Find("", "qwen2.5:0.5b"); err != nil {
		t.Errorf("through $OLLAMA_MODELS: %v", err)
	}
}

func TestFindRefuses(t *testing.T) {
	gguf := []byte("GGUF model")
	tests := []struct {
		name   string
		model  string
		tamper func(dir, digest string)
		want   string
	}{
		{"missing tag", "qwen2.5", nil, "not in the store"},
		{"missing model", "llama3.2:1b", nil, "ollama pull llama3.2:1b"},
		{"path escape", "../../etc:passwd", nil, "not a model name"},
		{"too many parts", "a/b/c/d:e", nil, "not a model name"},
		{"tampered blob", "qwen2.5:0.5b", func(dir, d string) {
			os.WriteFile(filepath.Join(dir, "blobs", "sha256-"+d), []byte("GGUF evil"), 0o644)
		}, "the manifest says"},
		{"missing blob", "qwen2.5:0.5b", func(dir, d string) { os.Remove(filepath.Join(dir, "blobs", "sha256-"+d)) }, "model blob"},
		{"bad manifest", "qwen2.5:0.5b", func(dir, d string) {
			os.WriteFile(filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "qwen2.5", "0.5b"), []byte("{"), 0o644)
		}, "manifest"},
		{"no model layer", "qwen2.5:0.5b", func(dir, d string) {
			os.WriteFile(filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "qwen2.5", "0.5b"), []byte(`{"layers":[]}`), 0o644)
		}, "no application/vnd.ollama.image.model layer"},
		// Neither may hang Find: a FIFO blocks its open for good, and
		// /dev/zero never ends.
		{"manifest is a FIFO", "qwen2.5:0.5b", func(dir, d string) {
			m := filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "qwen2.5", "0.5b")
			os.Remove(m)
			if err := syscall.Mkfifo(m, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"blob is /dev/zero", "qwen2.5:0.5b", func(dir, d string) {
			b := filepath.Join(dir, "blobs", "sha256-"+d)
			os.Remove(b)
			if err := os.Symlink("/dev/zero", b); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"bad digest", "qwen2.5:0.5b", func(dir, d string) {
			os.WriteFile(filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "qwen2.5", "0.5b"),
				[]byte(`{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:../x"}]}`), 0o644)
		}, "is not sha256:<64 hex>"},
	}
	for _, tt := range tests {
		dir := fakeStore(t, gguf, tt.tamper)
		_, err := Find(dir, tt.model)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// ollama finds a model whatever the case of the name asked for, in the
// folder its name was first written to (server.getExistingName), so
// Qwen2.5:0.5B is the qwen2.5:0.5b that 'ollama pull' stored, and Find
// names it as stored. Two manifests that differ only in case are refused
// as ambiguous rather than picked at random.
func TestFindIgnoresCase(t *testing.T) {
	gguf := []byte("GGUF\x03\x00\x00\x00 pretend model bytes")
	dir := fakeStore(t, gguf, nil)
	for _, name := range []string{"Qwen2.5:0.5B", "QWEN2.5:0.5b", "Library/qwen2.5:0.5B", "Registry.Ollama.AI/LIBRARY/Qwen2.5:0.5b"} {
		m, err := Find(dir, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if m.Name != "registry.ollama.ai/library/qwen2.5:0.5b" {
			t.Errorf("%s resolved to %s, want the stored spelling", name, m.Name)
		}
	}
	if _, err := Find(dir, "Qwen2.5:7B"); err == nil || !strings.Contains(err.Error(), "is not in the store") {
		t.Errorf("a tag not in the store: %v", err)
	}
	twin := filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "Qwen2.5")
	if err := os.MkdirAll(twin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(twin, "0.5B"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir, "qwen2.5:0.5b"); err != nil {
		t.Errorf("the exact spelling beside a twin: %v", err)
	}
	if _, err := Find(dir, "QWEN2.5:0.5b"); err == nil || !strings.Contains(err.Error(), "2 manifests match the name but for case") {
		t.Errorf("a name two manifests match but for case: %v, want an ambiguity error", err)
	}
}
