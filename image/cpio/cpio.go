// Package cpio writes deterministic "newc" cpio archives, the format of
// Linux initramfs images. The same files always give the same bytes: paths
// are sorted, inode numbers count up from 1 in that order, owners are 0,
// modes are what the caller says, and every mtime is one fixed value
// (SOURCE_DATE_EPOCH), so a measured image can be rebuilt bit for bit.
package cpio

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Entry is one file or directory of the archive.
type Entry struct {
	Path string // relative, slash-separated, no leading "/" (for example "lib/modules")
	Mode uint32 // full st_mode: type bits and permissions, e.g. 0o100755 or 0o40755
	Data []byte // file contents; empty for directories
}

// Mode type bits this writer accepts. Device nodes are left to devtmpfs.
const (
	TypeDir  = 0o040000
	TypeReg  = 0o100000
	typeMask = 0o170000
)

// Write writes entries, sorted by path, then the trailer, with every mtime
// set to mtime, and pads the archive to a multiple of pad bytes (512 as GNU
// cpio does, or 0 for none).
func Write(w io.Writer, entries []Entry, mtime uint32, pad int) (int64, error) {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	seen := map[string]bool{}
	cw := &countingWriter{w: w}
	for i, e := range sorted {
		if err := check(e); err != nil {
			return cw.n, err
		}
		if seen[e.Path] {
			return cw.n, fmt.Errorf("cpio: %q appears twice", e.Path)
		}
		seen[e.Path] = true
		nlink := uint32(1)
		if e.Mode&typeMask == TypeDir {
			nlink = 2
		}
		writeRecord(cw, e.Path, e.Data, e.Mode, uint32(i+1), nlink, mtime)
	}
	writeRecord(cw, "TRAILER!!!", nil, 0, 0, 1, 0)
	if pad > 0 && cw.n%int64(pad) != 0 {
		cw.Write(make([]byte, int64(pad)-cw.n%int64(pad)))
	}
	return cw.n, cw.err
}

func check(e Entry) error {
	p := e.Path
	switch {
	case p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == "..":
		return fmt.Errorf("cpio: path %q must be relative and clean", p)
	case p == "TRAILER!!!":
		return fmt.Errorf("cpio: path %q is reserved", p)
	case strings.IndexByte(p, 0) >= 0:
		// newc names end at their NUL: the kernel would unpack the
		// entry under the part before it.
		return fmt.Errorf("cpio: path %q contains a NUL byte", p)
	}
	switch e.Mode & typeMask {
	case TypeReg:
	case TypeDir:
		if len(e.Data) > 0 {
			return fmt.Errorf("cpio: directory %q has data", p)
		}
	default:
		return fmt.Errorf("cpio: %q: mode %#o is not a regular file or directory", p, e.Mode)
	}
	if uint64(len(e.Data)) > 0xffffffff {
		return fmt.Errorf("cpio: %q is larger than newc's 4 GiB limit", p)
	}
	return nil
}

// writeRecord writes one newc header, the NUL-terminated name padded to 4
// bytes (with the 110-byte header), and the data padded to 4 bytes.
func writeRecord(w io.Writer, name string, data []byte, mode, ino, nlink, mtime uint32) {
	fields := [13]uint32{ino, mode, 0, 0, nlink, mtime, uint32(len(data)), 0, 0, 0, 0, uint32(len(name) + 1), 0}
	var hdr strings.Builder
	hdr.WriteString("070701")
	for _, f := range fields {
		fmt.Fprintf(&hdr, "%08X", f)
	}
	hdr.WriteString(name)
	hdr.WriteByte(0)
	for hdr.Len()%4 != 0 {
		hdr.WriteByte(0)
	}
	io.WriteString(w, hdr.String())
	w.Write(data)
	if r := len(data) % 4; r != 0 {
		w.Write(make([]byte, 4-r))
	}
}

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
