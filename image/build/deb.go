package build

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// debFiles returns the regular files of a .deb (already checked against its
// pin) for which keep is true, keyed by their path without the leading "./".
// dpkg-deb does the unpacking because the data member may be compressed with
// xz or zstd, which the standard library cannot read; the files it yields
// are checked against their own pins, or hashed into the manifest, so the
// host's dpkg is not trusted for their contents.
func debFiles(ctx context.Context, deb []byte, keep func(name string) bool) (map[string][]byte, error) {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", "/dev/stdin")
	cmd.Stdin = bytes.NewReader(deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("build: dpkg-deb: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("build: dpkg-deb (Debian's dpkg is needed to unpack the pinned packages): %w", err)
	}
	files, terr := readTar(out, keep)
	io.Copy(io.Discard, out)
	werr := cmd.Wait()
	if terr != nil {
		return nil, terr
	}
	if werr != nil {
		return nil, fmt.Errorf("build: dpkg-deb: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return files, nil
}

// maxDebFile bounds one file taken from a package: the largest the image
// uses is the kernel (about 12 MiB).
const maxDebFile = 256 << 20

func readTar(r io.Reader, keep func(string) bool) (map[string][]byte, error) {
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("build: package contents: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if h.Typeflag != tar.TypeReg || !keep(name) {
			continue
		}
		if h.Size > maxDebFile {
			return nil, fmt.Errorf("build: package file %q: %d bytes, more than %d", name, h.Size, maxDebFile)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxDebFile))
		if err != nil {
			return nil, fmt.Errorf("build: package file %q: %w", name, err)
		}
		files[name] = b
	}
}

// unxz decompresses a module with the host's xz, only to read its modinfo:
// the image keeps the module compressed, byte for byte as Debian ships it,
// and the kernel decompresses it (CONFIG_MODULE_DECOMPRESS).
func unxz(ctx context.Context, data []byte) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "xz", "--decompress", "--stdout", "--single-stream")
	cmd.Stdin = bytes.NewReader(data)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("xz: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}

// ModinfoDepends returns the modules a kernel module needs, from the
// "depends=" entry of its .modinfo section (what depmod reads).
func ModinfoDepends(ko []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, fmt.Errorf("build: module: %w", err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, errors.New("build: module: no .modinfo section")
	}
	if sec.Size > 1<<20 || sec.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("build: module: .modinfo of %d bytes", sec.Size)
	}
	info, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("build: module: .modinfo: %w", err)
	}
	var deps []string
	found := false
	for _, kv := range bytes.Split(info, []byte{0}) {
		v, ok := bytes.CutPrefix(kv, []byte("depends="))
		if !ok {
			continue
		}
		if found {
			return nil, errors.New("build: module: two depends= entries")
		}
		found = true
		for _, d := range strings.Split(string(v), ",") {
			if d == "" {
				continue
			}
			if strings.ContainsAny(d, "/ :") {
				return nil, fmt.Errorf("build: module: dependency name %q", d)
			}
			deps = append(deps, d)
		}
	}
	if !found {
		return nil, errors.New("build: module: no depends= entry")
	}
	return deps, nil
}
