// Package ollamastore finds models in a local ollama store, so a user can
// hand pith a GGUF file ollama already downloaded. The layout is ollama's:
//
//	$OLLAMA_MODELS (default ~/.ollama/models)
//	  manifests/registry.ollama.ai/library/NAME/TAG   JSON manifest
//	  blobs/sha256-HEX                                 content-addressed layers
//
// The manifest's layer with media type application/vnd.ollama.image.model
// is the GGUF file; its digest is checked against the blob's bytes.
package ollamastore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// ModelMediaType marks the GGUF layer of a manifest.
const ModelMediaType = "application/vnd.ollama.image.model"

// Model is a model file found in the store.
type Model struct {
	Name   string // host/namespace/model:tag, as resolved
	Path   string // the blob
	SHA256 string // hex, checked against the blob's contents
	Size   int64
}

// Dir is the store: $OLLAMA_MODELS, or ~/.ollama/models.
func Dir() (string, error) {
	if d := os.Getenv("OLLAMA_MODELS"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("ollamastore: %w", err)
	}
	return filepath.Join(home, ".ollama", "models"), nil
}

// name parts allowed in a path: ollama's own rules are stricter, these are
// enough to keep a name from leaving the manifests folder.
var part = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// parseName splits [host/][namespace/]model[:tag] with ollama's defaults
// (registry.ollama.ai, library, latest).
func parseName(name string) (host, ns, model, tag string, err error) {
	host, ns, tag = "registry.ollama.ai", "library", "latest"
	rest := name
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, tag = rest[:i], rest[i+1:]
	}
	parts := strings.Split(rest, "/")
	switch len(parts) {
	case 1:
		model = parts[0]
	case 2:
		ns, model = parts[0], parts[1]
	case 3:
		host, ns, model = parts[0], parts[1], parts[2]
	default:
		return "", "", "", "", fmt.Errorf("ollamastore: %q is not a model name ([host/][namespace/]model[:tag])", name)
	}
	for _, p := range []string{host, ns, model, tag} {
		if !part.MatchString(p) || p == ".." {
			return "", "", "", "", fmt.Errorf("ollamastore: %q is not a model name ([host/][namespace/]model[:tag])", name)
		}
	}
	return host, ns, model, tag, nil
}

// storedName is the name of parts (host, namespace, model, tag) as the
// store below root spells it. ollama keeps a manifest's path as the name
// was first written (qwen2.5/0.5b for 'ollama pull qwen2.5:0.5b') and
// finds it whatever the case of the name asked for
// (server.getExistingName takes each part's spelling from the manifests
// present), so Qwen2.5:0.5B is that model: the exact path first, else the
// one whose every part equals the name's but for case; with neither,
// parts as given. Two such manifests are an ambiguity ollama settles by
// map order; pith refuses it.
func storedName(root string, parts []string) ([]string, error) {
	if _, err := os.Lstat(filepath.Join(append([]string{root}, parts...)...)); !errors.Is(err, os.ErrNotExist) {
		return parts, nil // there, or unreadable: readBounded says which
	}
	found := [][]string{nil}
	for _, p := range parts {
		var next [][]string
		for _, f := range found {
			entries, err := os.ReadDir(filepath.Join(append([]string{root}, f...)...))
			if err != nil {
				continue // not a folder, or unreadable: no manifest below it
			}
			for _, e := range entries {
				if strings.EqualFold(e.Name(), p) {
					next = append(next, append(slices.Clip(f), e.Name()))
				}
			}
		}
		found = next
	}
	switch len(found) {
	case 0:
		return parts, nil
	case 1:
		return found[0], nil
	}
	paths := make([]string, len(found))
	for i, f := range found {
		paths[i] = filepath.Join(append([]string{root}, f...)...)
	}
	return nil, fmt.Errorf("%d manifests match the name but for case (%s): rename all but one with 'ollama cp' and 'ollama rm'", len(found), strings.Join(paths, ", "))
}

type manifest struct {
	SchemaVersion int     `json:"schemaVersion"`
	Layers        []layer `json:"layers"`
}

type layer struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// maxManifest bounds what is read of a manifest; real ones are a few KiB.
const maxManifest = 1 << 20

// Find resolves name in the store at dir ("" means Dir()), checks the GGUF
// blob's SHA-256 against the manifest's digest and returns it.
func Find(dir, name string) (*Model, error) {
	if dir == "" {
		var err error
		if dir, err = Dir(); err != nil {
			return nil, err
		}
	}
	host, ns, model, tag, err := parseName(name)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "manifests")
	stored, err := storedName(root, []string{host, ns, model, tag})
	if err != nil {
		return nil, fmt.Errorf("ollamastore: %s: %w", name, err)
	}
	host, ns, model, tag = stored[0], stored[1], stored[2], stored[3]
	mpath := filepath.Join(root, host, ns, model, tag)
	resolved := host + "/" + ns + "/" + model + ":" + tag
	raw, err := readBounded(mpath, maxManifest)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ollamastore: %s is not in the store at %s (no %s; 'ollama pull %s' fetches it)", resolved, dir, mpath, name)
	}
	if err != nil {
		return nil, fmt.Errorf("ollamastore: %s: %w", resolved, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("ollamastore: %s: manifest %s: %w", resolved, mpath, err)
	}
	var found *layer
	for i, l := range m.Layers {
		if l.MediaType == ModelMediaType {
			if found != nil {
				return nil, fmt.Errorf("ollamastore: %s: manifest has more than one model layer", resolved)
			}
			found = &m.Layers[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("ollamastore: %s: manifest has no %s layer", resolved, ModelMediaType)
	}
	hexDigest, ok := strings.CutPrefix(found.Digest, "sha256:")
	if _, err := hex.DecodeString(hexDigest); !ok || err != nil || len(hexDigest) != 64 {
		return nil, fmt.Errorf("ollamastore: %s: model layer digest %q is not sha256:<64 hex>", resolved, found.Digest)
	}
	hexDigest = strings.ToLower(hexDigest)
	blob := filepath.Join(dir, "blobs", "sha256-"+hexDigest)
	sum, size, err := hashFile(blob, found.Size)
	if err != nil {
		return nil, fmt.Errorf("ollamastore: %s: model blob: %w", resolved, err)
	}
	if sum != hexDigest {
		return nil, fmt.Errorf("ollamastore: %s: blob %s has SHA-256 %s, the manifest says %s", resolved, blob, sum, hexDigest)
	}
	if found.Size != 0 && found.Size != size {
		return nil, fmt.Errorf("ollamastore: %s: blob is %d bytes, the manifest says %d", resolved, size, found.Size)
	}
	return &Model{Name: resolved, Path: blob, SHA256: sum, Size: size}, nil
}

// openRegular opens path for reading if it is a regular file (or a link
// to one): the store is outside data, and a FIFO would block the open for
// good, a device such as /dev/zero never end.
func openRegular(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%v)", path, st.Mode().Type())
	}
	return os.Open(path)
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// hashFile hashes path, a regular file; with want (the size the manifest
// gives, 0 if none) it reads at most a byte more, so a file that grows
// while it is read still ends.
func hashFile(path string, want int64) (string, int64, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	var r io.Reader = f
	if want > 0 {
		r = io.LimitReader(f, want+1)
	}
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
