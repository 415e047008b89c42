package gguf

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/pith-project/pith/kernels"
)

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// misalignedFile writes a file with three F32 tensors whose data section
// starts at 32 mod 64, as in the models we test with: "a" of aFloats
// floats, "b" of 8 (32 bytes, so "c" sits at 32 mod 64 in the data
// section), "c" of 16.
func misalignedFile(t testing.TB, aFloats int) (file []byte, tensors map[string][]byte) {
	t.Helper()
	tensors = map[string][]byte{}
	// The name's length moves the header's end; one of 64 puts the data
	// section at 32 mod 64.
	for n := 0; n < 64; n++ {
		w := NewWriter()
		w.Set("general.name", string(bytes.Repeat([]byte("x"), n)))
		for _, tn := range []struct {
			name string
			n    int
		}{{"a", aFloats}, {"b", 8}, {"c", 16}} {
			data := make([]byte, 4*tn.n)
			for i := range data {
				data[i] = byte(i*7 + len(tn.name) + int(tn.name[0]))
			}
			tensors[tn.name] = data
			if err := w.AddTensor(tn.name, kernels.F32, []uint64{uint64(tn.n)}, data); err != nil {
				t.Fatal(err)
			}
		}
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		f, err := Parse(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if f.DataStart%64 == 32 {
			return b.Bytes(), tensors
		}
	}
	t.Fatal("no name length puts the data section at 32 mod 64")
	return nil, nil
}

// ReadFile moves the file so that the tensor data starts on a cache line,
// from the Go heap (small files), from huge pages (large ones, which
// start on a page and so would leave the data at 32 mod 64) and from a
// pipe (read however io.ReadAll reads it, aligned or not); the bytes and
// the digest stay the file's.
func TestReadFileAlignsTensorData(t *testing.T) {
	tests := []struct {
		name    string
		aFloats int
		pipe    bool
	}{
		{"heap", 256, false},
		{"huge pages", 9 << 18, false}, // 9 MiB, past hugemem's threshold
		{"pipe", 256, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, tensors := misalignedFile(t, tt.aFloats)
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := os.WriteFile(path, file, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.pipe {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				go func() { w.Write(file); w.Close() }()
				path = fmt.Sprintf("/dev/fd/%d", r.Fd())
			}
			f, err := ReadFile(path, "")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Data, file) {
				t.Fatal("ReadFile's bytes differ from the file's")
			}
			if f.SHA256 != sha256.Sum256(file) {
				t.Errorf("SHA256 %x, want the file's", f.SHA256)
			}
			aligned := (addr(f.Data)+uintptr(f.DataStart))%64 == 0
			if !aligned && !tt.pipe {
				t.Errorf("data section at %d mod 64", (addr(f.Data)+uintptr(f.DataStart))%64)
			}
			for name, want := range tensors {
				ti, got, err := f.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("tensor %q differs from the file's", name)
				}
				if aligned && ti.Offset%64 == 0 && addr(got)%64 != 0 {
					t.Errorf("tensor %q (offset %d) at %d mod 64", name, ti.Offset, addr(got)%64)
				}
			}
		})
	}
}

// AlignData moves the file within the room past its end, zeroing what it
// leaves, or changes nothing when the room is short or the data is
// already aligned.
func TestAlignData(t *testing.T) {
	file, tensors := misalignedFile(t, 256)
	g, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		align, at    int // where the data section starts, mod align
		spare        int // capacity past the file
		ok           bool
		wantMovement int
	}{
		{"already aligned", 64, 0, 0, true, 0},
		{"no room", 64, 32, 0, false, 0},
		{"a byte short", 64, 32, 31, false, 0},
		{"cache line", 64, 32, 32, true, 32},
		{"cache line, most room", 64, 1, 63, true, 63},
		{"page", 4096, 4000, 96, true, 96},
		{"page, room short", 4096, 32, 63, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Place the file in buf so that its data section is at tt.at.
			buf := make([]byte, len(file)+2*tt.align+tt.spare)
			base := addr(buf) + uintptr(g.DataStart)
			o := int((uintptr(tt.at) - base) & uintptr(tt.align-1))
			data := buf[o : o+len(file) : o+len(file)+tt.spare]
			copy(data, file)
			f, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if ok := f.AlignData(tt.align); ok != tt.ok {
				t.Fatalf("AlignData(%d) = %v, want %v", tt.align, ok, tt.ok)
			}
			if moved := int(addr(f.Data) - addr(data)); moved != tt.wantMovement {
				t.Errorf("moved %d bytes, want %d", moved, tt.wantMovement)
			}
			if at := (addr(f.Data) + uintptr(f.DataStart)) % uintptr(tt.align); tt.ok && at != 0 {
				t.Errorf("data section at %d mod %d", at, tt.align)
			}
			if !bytes.Equal(f.Data, file) || cap(f.Data) != cap(data)-tt.wantMovement {
				t.Errorf("Data differs from the file (len %d, cap %d)", len(f.Data), cap(f.Data))
			}
			if left := buf[o : o+tt.wantMovement]; !bytes.Equal(left, make([]byte, len(left))) {
				t.Errorf("the %d bytes the move left are not zeroed", len(left))
			}
			for name, want := range tensors {
				if _, got, err := f.Tensor(name); err != nil || !bytes.Equal(got, want) {
					t.Errorf("tensor %q differs from the file's (%v)", name, err)
				}
			}
		})
	}
}

func TestAlignDataRefusesBadAlignments(t *testing.T) {
	f, err := Parse(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, align := range []int{0, -64, 48, 8192} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AlignData(%d) did not panic", align)
				}
			}()
			f.AlignData(align)
		}()
	}
}
