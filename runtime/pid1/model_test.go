package pid1

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model/gguf"
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

	got, err := ReadModel(context.Background(), Config{Model: path, ModelSHA256: sum[:], ModelSize: int64(len(model))})
	if err != nil || !bytes.Equal(got, model) {
		t.Fatalf("sized read: %v", err)
	}
	if got, err := ReadModel(context.Background(), Config{Model: path, ModelSHA256: diskSum[:]}); err != nil || len(got) != len(disk) {
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
		_, err := ReadModel(context.Background(), b.cfg)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want an error containing %q", b.name, err, b.want)
		}
	}
}

// The model comes with the room gguf's AlignData needs to put its tensors
// on cache lines, and the digest covers only the file.
func TestReadModelLeavesRoomToAlign(t *testing.T) {
	w := gguf.NewWriter()
	w.Set("general.name", "m")
	if err := w.AddTensor("a", kernels.F32, []uint64{64}, bytes.Repeat([]byte{1, 2, 3, 4}, 64)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b.Bytes())
	data, err := ReadModel(context.Background(), Config{Model: path, ModelSHA256: sum[:]})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != b.Len() || cap(data)-len(data) < gguf.DataAlign-1 {
		t.Fatalf("len %d, cap %d for a %d-byte model", len(data), cap(data), b.Len())
	}
	f, err := gguf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !f.AlignData(gguf.DataAlign) {
		t.Fatal("AlignData found no room")
	}
	if at := uintptr(unsafe.Pointer(&f.Data[f.DataStart])) % 64; at != 0 || !bytes.Equal(f.Data, b.Bytes()) {
		t.Errorf("data section at %d mod 64, or the model's bytes changed", at)
	}
}

// slowReader gives n bytes per read, each after a pause, as a large model
// comes from a slow disk.
type slowReader struct {
	n     int
	pause time.Duration
	reads int
}

func (r *slowReader) Read(p []byte) (int, error) {
	time.Sleep(r.pause)
	r.reads++
	return copy(p, make([]byte, min(r.n, len(p)))), nil
}

// A shutdown during the model's read stops it within a chunk, with the
// shutdown as the cause; without one, the same slow read completes.
func TestReadCheckedStopsOnShutdown(t *testing.T) {
	data := make([]byte, 16*readChunk)
	stop := errors.New("shutdown signal terminated")
	ctx, cancel := context.WithCancelCause(context.Background())
	r := &slowReader{n: readChunk / 4, pause: 10 * time.Millisecond} // 0.64 s for all of it
	time.AfterFunc(50*time.Millisecond, func() { cancel(stop) })
	t0 := time.Now()
	err := readChecked(ctx, r, data, make([]byte, sha256.Size))
	if !errors.Is(err, stop) {
		t.Fatalf("readChecked = %v, want the shutdown as its cause", err)
	}
	if took := time.Since(t0); took > 300*time.Millisecond || r.reads*r.n >= len(data) {
		t.Fatalf("stopped after %s and %d of %d bytes", took, r.reads*r.n, len(data))
	}

	small := make([]byte, 3*readChunk+5)
	sum := sha256.Sum256(small)
	if err := readChecked(context.Background(), &slowReader{n: readChunk / 2}, small, sum[:]); err != nil {
		t.Fatalf("a whole read: %v", err)
	}
	if err := readChecked(context.Background(), io.LimitReader(&slowReader{n: 1 << 20}, int64(len(small)-1)), small, sum[:]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a short read: %v", err)
	}
}
