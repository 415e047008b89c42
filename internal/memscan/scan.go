// Package memscan searches a live process's whole address space for byte
// patterns: the memory-scan proof that a request left nothing behind. It
// parses /proc/PID/maps and reads /proc/PID/mem region by region, which
// needs ptrace-read rights over the target (root, or the same user while
// the target is dumpable).
package memscan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Options tune a scan; the zero value is the default.
type Options struct {
	// ChunkSize is how much is read at once (default 256 KiB, so a chunk
	// stays in L2 while every needle passes over it).
	ChunkSize int
	// MaxHits bounds the hits recorded in Result.Hits (default 1000);
	// Result.Counts keeps counting past it.
	MaxHits int
	// SkipUnreadable leaves out regions mapped without read permission.
	// By default they are read too: /proc/PID/mem reads with FOLL_FORCE,
	// so a PROT_NONE mapping's old contents are visible and must be
	// scanned.
	SkipUnreadable bool
}

// Hit is one occurrence of a needle.
type Hit struct {
	Needle int    // index into the needles
	Name   string // the needle's name
	Addr   uint64 // virtual address in the target
	Region string // Region.Label of the mapping it is in
	Perms  string
}

// Skip is a region, or the rest of one, that could not be read.
type Skip struct {
	Region     string
	Start, End uint64
	Err        error
}

// Result is what a scan saw.
type Result struct {
	Hits           []Hit
	Counts         []int  // hits per needle, all of them
	BytesScanned   uint64 // bytes read and searched
	Regions        int    // regions read, wholly or in part
	RegionsSkipped int    // regions not read at all, or only in part
	BytesSkipped   uint64
	Skipped        []Skip
}

// Total is the number of hits of every needle.
func (r *Result) Total() int {
	n := 0
	for _, c := range r.Counts {
		n += c
	}
	return n
}

// String summarises the scan without any needle's bytes.
func (r *Result) String() string {
	return fmt.Sprintf("%d hits; %d bytes in %d regions scanned; %d bytes in %d regions skipped",
		r.Total(), r.BytesScanned, r.Regions, r.BytesSkipped, r.RegionsSkipped)
}

// Describe is one line a recorded hit, for a report: the needle's name,
// the address, and the region and its permissions, never the needle.
func (r *Result) Describe() []string {
	out := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = fmt.Sprintf("hit: %s at %#x in %s (%s)", h.Name, h.Addr, h.Region, h.Perms)
	}
	return out
}

// Retry runs scan until a result has no hits or wait has passed, a tenth
// of a second apart, and returns the last result (or the first error):
// what a process erases asynchronously, such as the collection that
// follows an answer, may take a moment.
func Retry(wait time.Duration, scan func() (*Result, error)) (*Result, error) {
	deadline := time.Now().Add(wait)
	for {
		res, err := scan()
		if err != nil || res.Total() == 0 || time.Now().After(deadline) {
			return res, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Scan searches every mapping of process pid for every needle. It refuses
// to scan its own process, where the needles themselves live.
func Scan(pid int, needles []Needle, opts Options) (*Result, error) {
	if pid == os.Getpid() {
		return nil, errors.New("memscan: refusing to scan this process: the needles themselves are here")
	}
	regions, err := ReadMaps(pid)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return nil, fmt.Errorf("memscan: %w", err)
	}
	defer f.Close()
	return ScanRegions(f, regions, needles, opts)
}

// ScanRegions searches regions of mem (addressed by virtual address, as
// /proc/PID/mem is) for the needles. Each occurrence is reported once,
// including those that straddle two chunks.
func ScanRegions(mem io.ReaderAt, regions []Region, needles []Needle, opts Options) (*Result, error) {
	if len(needles) == 0 {
		return nil, errors.New("memscan: no needles")
	}
	longest := 0
	for i, n := range needles {
		if len(n.Bytes) == 0 || allZero(n.Bytes) {
			return nil, fmt.Errorf("memscan: needle %d (%s) is empty or all zeros", i, n.Name)
		}
		longest = max(longest, len(n.Bytes))
	}
	chunk := opts.ChunkSize
	if chunk <= 0 {
		chunk = 256 << 10
	}
	chunk = max(chunk, longest)
	maxHits := opts.MaxHits
	if maxHits <= 0 {
		maxHits = 1000
	}
	res := &Result{Counts: make([]int, len(needles))}
	// buf holds the last longest-1 bytes of the previous chunk (the carry)
	// followed by the new chunk, so a match across the seam is seen whole.
	buf := make([]byte, longest-1+chunk)
	for _, reg := range regions {
		if !reg.Readable() && opts.SkipUnreadable {
			continue
		}
		if reg.Start >= 1<<63 || reg.End > 1<<63 {
			// [vsyscall]: beyond what a file offset can address.
			res.skip(reg, reg.Start, errors.New("address beyond the file offset range"))
			continue
		}
		carry := 0
		for addr := reg.Start; addr < reg.End; {
			n := int(min(uint64(chunk), reg.End-addr))
			got, err := mem.ReadAt(buf[carry:carry+n], int64(addr))
			if got > 0 {
				if addr == reg.Start {
					res.Regions++
				}
				res.BytesScanned += uint64(got)
				window := carry + got
				if allZero(buf[carry : carry+got]) {
					// Most of a Go process's mappings are untouched zero
					// pages. No needle is all zeros, so a match ending in
					// a zero chunk starts in the carry: only the seam needs
					// searching.
					window = carry + min(got, longest-1)
				}
				res.search(buf[:window], carry, addr-uint64(carry), needles, reg, maxHits)
				addr += uint64(got)
				keep := min(longest-1, carry+got)
				copy(buf, buf[carry+got-keep:carry+got])
				carry = keep
			}
			if err != nil && got < n {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				res.skip(reg, addr, err)
				break
			}
		}
	}
	return res, nil
}

var zeros = make([]byte, 64<<10)

// allZero compares against a zero buffer, which runs at memory speed.
func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

func (res *Result) skip(reg Region, from uint64, err error) {
	res.RegionsSkipped++
	res.BytesSkipped += reg.End - from
	res.Skipped = append(res.Skipped, Skip{Region: reg.Label(), Start: from, End: reg.End, Err: err})
}

// search finds every needle in b whose match ends past the carried-over
// prefix (matches wholly inside it were reported with the previous chunk).
// base is the address of b[0].
func (res *Result) search(b []byte, carry int, base uint64, needles []Needle, reg Region, maxHits int) {
	for i, n := range needles {
		from := max(0, carry-len(n.Bytes)+1)
		for from+len(n.Bytes) <= len(b) {
			j := bytes.Index(b[from:], n.Bytes)
			if j < 0 {
				break
			}
			at := from + j
			res.Counts[i]++
			if len(res.Hits) < maxHits {
				res.Hits = append(res.Hits, Hit{Needle: i, Name: n.Name, Addr: base + uint64(at), Region: reg.Label(), Perms: reg.Perms})
			}
			from = at + 1
		}
	}
}
