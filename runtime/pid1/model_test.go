package pid1

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadModel(t *testing.T) {
	dir := t.TempDir()
	model := bytes.Repeat([]byte("GGUF model bytes "), 1000)
	disk := append(append([]byte(nil), model...), make([]byte, 512-len(model)%512)...) // sector padding
	path := filepath.Join(dir, "vda")
	if err := os.WriteFile(path, disk, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	diskSum := sha256.Sum256(disk)

	got, err := ReadModel(Config{Model: path, ModelSHA256: sum[:], ModelSize: int64(len(model))})
	if err != nil || !bytes.Equal(got, model) {
		t.Fatalf("sized read: %v", err)
	}
	if got, err := ReadModel(Config{Model: path, ModelSHA256: diskSum[:]}); err != nil || len(got) != len(disk) {
		t.Fatalf("whole read: %v", err)
	}

	wrong := sha256.Sum256([]byte("another model"))
	bad := []struct {
		name string
		cfg  Config
		want string
	}{
		{"padding hashed", Config{Model: path, ModelSHA256: sum[:]}, fmt.Sprintf("SHA-256 %x, but the measured command line says %x", diskSum, sum)},
		{"wrong digest", Config{Model: path, ModelSHA256: wrong[:], ModelSize: int64(len(model))}, fmt.Sprintf("%x", wrong)},
		{"no digest", Config{Model: path, ModelSize: int64(len(model))}, "unchecked"},
		{"no model", Config{ModelSHA256: sum[:]}, "pith.model="},
		{"too large", Config{Model: path, ModelSHA256: sum[:], ModelSize: int64(len(disk) + 1)}, "pith.model.size"},
		{"missing", Config{Model: filepath.Join(dir, "nope"), ModelSHA256: sum[:]}, "no such file"},
		{"directory", Config{Model: dir, ModelSHA256: sum[:]}, "neither a file"},
	}
	for _, b := range bad {
		_, err := ReadModel(b.cfg)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want an error containing %q", b.name, err, b.want)
		}
	}
}
