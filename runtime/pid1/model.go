package pid1

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pith-project/pith/internal/hugemem"
	"github.com/pith-project/pith/model/gguf"
)

// maxModel bounds what ReadModel will allocate: far above any model a
// confidential VM here can hold, far below a size that is surely garbage.
const maxModel = 64 << 30

// ReadModel reads the model named by the command line wholly into memory
// and checks its SHA-256 before anything parses it: nothing is read lazily
// later from a disk the host controls. cfg.ModelSize bytes are read (a raw
// disk is padded to whole sectors), or the whole file or device when it is
// zero. A missing digest is an error: PID 1 never serves an unchecked
// model. A mismatch names both digests, for the console. It stops, within
// one chunk's read, when ctx ends: a shutdown request during a read of
// gigabytes must not wait for it.
//
// The slice has gguf.DataAlign-1 bytes of capacity to spare past its end,
// for gguf's (*File).AlignData to move the file so that its tensors start
// on cache lines. Once it has, the file's last bytes lie past len: wipe
// the slice up to its cap.
func ReadModel(ctx context.Context, cfg Config) ([]byte, error) {
	if cfg.Model == "" {
		return nil, errors.New("pid1: no pith.model= on the command line")
	}
	if len(cfg.ModelSHA256) != sha256.Size {
		return nil, errors.New("pid1: no pith.model.sha256= on the command line; refusing an unchecked model")
	}
	f, err := os.Open(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("pid1: model: %w", err)
	}
	defer f.Close()
	avail, err := sizeOf(f)
	if err != nil {
		return nil, fmt.Errorf("pid1: model %s: %w", cfg.Model, err)
	}
	size := cfg.ModelSize
	switch {
	case size == 0:
		size = avail
	case size > avail:
		return nil, fmt.Errorf("pid1: model %s holds %d bytes, pith.model.size says %d", cfg.Model, avail, size)
	}
	if size <= 0 || size > maxModel {
		return nil, fmt.Errorf("pid1: model %s: size %d out of range", cfg.Model, size)
	}
	// On huge pages where the kernel offers them: decode streams every
	// weight once per token, faster than from 4 KiB pages (hugemem).
	data := hugemem.Make(int(size) + gguf.DataAlign - 1)[:size]
	if err := readChecked(ctx, f, data, cfg.ModelSHA256); err != nil {
		return nil, fmt.Errorf("pid1: model %s: %w", cfg.Model, err)
	}
	return data, nil
}

// readChunk is how much readChecked reads between looks at its context:
// tens of milliseconds from a virtio disk.
const readChunk = 4 << 20

// readChecked fills data from r in chunks, hashing as it goes, and checks
// the SHA-256 against want; it gives up between chunks once ctx ends.
func readChecked(ctx context.Context, r io.Reader, data, want []byte) error {
	h := sha256.New()
	for off := 0; off < len(data); {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped after %d of %d bytes: %w", off, len(data), context.Cause(ctx))
		}
		n, err := io.ReadFull(r, data[off:min(off+readChunk, len(data))])
		h.Write(data[off : off+n])
		off += n
		if err != nil {
			return fmt.Errorf("reading %d bytes: %w", len(data), err)
		}
	}
	if sum := h.Sum(nil); !bytes.Equal(sum, want) {
		return fmt.Errorf("SHA-256 %x, but the measured command line says %x", sum, want)
	}
	return nil
}

// sizeOf is a regular file's length or a block device's capacity.
func sizeOf(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Mode()&os.ModeDevice == 0 {
		if !st.Mode().IsRegular() {
			return 0, fmt.Errorf("neither a file nor a block device (%v)", st.Mode())
		}
		return st.Size(), nil
	}
	var n uint64
	_, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return 0, fmt.Errorf("BLKGETSIZE64: %w", e)
	}
	if n > maxModel {
		return maxModel + 1, nil
	}
	return int64(n), nil
}
