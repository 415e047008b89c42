package memscan

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Region is one line of /proc/PID/maps.
type Region struct {
	Start, End uint64 // [Start, End)
	Perms      string // "rw-p"
	Offset     uint64
	Dev        string
	Inode      uint64
	Name       string // path, [heap], [stack], [vvar], ... or "" for anonymous
}

// Size is the region's length in bytes.
func (r Region) Size() uint64 { return r.End - r.Start }

// Readable reports whether the region is mapped readable.
func (r Region) Readable() bool { return r.Perms[0] == 'r' }

// Label is the name shown in reports: the path or pseudo-name, or
// "[anon]" for an anonymous mapping.
func (r Region) Label() string {
	if r.Name == "" {
		return "[anon]"
	}
	return r.Name
}

// maxMapsLine bounds one line: a path is at most PATH_MAX (4096) bytes,
// the rest under 100.
const maxMapsLine = 8192

// ReadMaps reads and parses /proc/PID/maps.
func ReadMaps(pid int) ([]Region, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("memscan: %w", err)
	}
	defer f.Close()
	rs, err := ParseMaps(f)
	if err != nil {
		return nil, fmt.Errorf("memscan: /proc/%d/maps: %w", pid, err)
	}
	return rs, nil
}

// ParseMaps parses the text of a /proc/PID/maps file.
func ParseMaps(r io.Reader) ([]Region, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), maxMapsLine)
	var out []Region
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		if line == "" {
			continue
		}
		reg, err := parseMapsLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, reg)
	}
	if err := s.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line longer than %d bytes", maxMapsLine)
		}
		return nil, err
	}
	return out, nil
}

func parseMapsLine(line string) (Region, error) {
	var f [5]string
	rest := line
	for i := range f {
		rest = strings.TrimLeft(rest, " ")
		j := strings.IndexByte(rest, ' ')
		if j < 0 {
			if i < 4 {
				return Region{}, fmt.Errorf("%d fields, want at least 5", i+1)
			}
			j = len(rest)
		}
		f[i], rest = rest[:j], rest[j:]
	}
	var reg Region
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok {
		return Region{}, fmt.Errorf("address range %q has no '-'", f[0])
	}
	var err error
	if reg.Start, err = strconv.ParseUint(lo, 16, 64); err != nil {
		return Region{}, fmt.Errorf("start address %q: %w", lo, err)
	}
	if reg.End, err = strconv.ParseUint(hi, 16, 64); err != nil {
		return Region{}, fmt.Errorf("end address %q: %w", hi, err)
	}
	if reg.End <= reg.Start {
		return Region{}, fmt.Errorf("empty or inverted range %s", f[0])
	}
	if len(f[1]) != 4 || !strings.ContainsRune("r-", rune(f[1][0])) || !strings.ContainsRune("w-", rune(f[1][1])) ||
		!strings.ContainsRune("x-", rune(f[1][2])) || !strings.ContainsRune("ps", rune(f[1][3])) {
		return Region{}, fmt.Errorf("permissions %q", f[1])
	}
	reg.Perms = f[1]
	if reg.Offset, err = strconv.ParseUint(f[2], 16, 64); err != nil {
		return Region{}, fmt.Errorf("offset %q: %w", f[2], err)
	}
	if maj, mnr, ok := strings.Cut(f[3], ":"); !ok || !isHex(maj) || !isHex(mnr) {
		return Region{}, fmt.Errorf("device %q", f[3])
	}
	reg.Dev = f[3]
	if reg.Inode, err = strconv.ParseUint(f[4], 10, 64); err != nil {
		return Region{}, fmt.Errorf("inode %q: %w", f[4], err)
	}
	reg.Name = strings.TrimLeft(rest, " ")
	return reg, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
