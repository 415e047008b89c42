package memscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// fakeMem is an address space backed by one buffer at base; reads at or
// past bad fail, as an unreadable page would.
type fakeMem struct {
	base uint64
	data []byte
	bad  uint64
}

func (m *fakeMem) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	if a < m.base || a >= m.base+uint64(len(m.data)) {
		return 0, errors.New("unmapped")
	}
	end := a + uint64(len(p))
	if m.bad != 0 && end > m.bad {
		if a >= m.bad {
			return 0, errors.New("input/output error")
		}
		n := copy(p, m.data[a-m.base:m.bad-m.base])
		return n, errors.New("input/output error")
	}
	return copy(p, m.data[a-m.base:]), nil
}

// naiveCount counts overlapping occurrences, the reference for Scan.
func naiveCount(hay, needle []byte) (n int, at []int) {
	for i := 0; i+len(needle) <= len(hay); i++ {
		if bytes.Equal(hay[i:i+len(needle)], needle) {
			n++
			at = append(at, i)
		}
	}
	return n, at
}

// On random memory with needles planted anywhere (across chunk and region
// seams too, overlapping each other, self-overlapping), the scan finds
// exactly the occurrences a byte-by-byte search finds, at the same
// addresses.
func TestScanMatchesNaiveSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		size := 1 + r.IntN(20000)
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(r.IntN(4)) // a small alphabet makes natural matches
		}
		for range r.IntN(4) { // zero runs, for the zero-chunk shortcut
			lo := r.IntN(size)
			clear(data[lo:min(size, lo+r.IntN(3000))])
		}
		var needles []Needle
		for k := range 1 + r.IntN(6) {
			nb := make([]byte, 1+r.IntN(40))
			for i := range nb {
				nb[i] = byte(r.IntN(4))
			}
			switch r.IntN(4) {
			case 0:
				nb = bytes.Repeat([]byte{3}, len(nb)) // self-overlapping
			case 1:
				clear(nb[len(nb)/2:]) // a zero tail, like UTF-16 of ASCII
			}
			nb[0] = 1 + byte(r.IntN(3)) // never all zeros
			needles = append(needles, Needle{Name: fmt.Sprint("n", k), Bytes: nb})
			for range r.IntN(4) {
				if len(nb) <= size {
					copy(data[r.IntN(size-len(nb)+1):], nb)
				}
			}
		}
		base := uint64(0x7f0000000000 + 4096*r.IntN(100))
		mem := &fakeMem{base: base, data: data}
		// Split into up to three regions; matches across region seams are
		// not matches (regions are not contiguous in general), so the
		// reference searches each region alone.
		cut1 := r.IntN(size + 1)
		cut2 := cut1 + r.IntN(size-cut1+1)
		var regions []Region
		for _, c := range [][2]int{{0, cut1}, {cut1, cut2}, {cut2, size}} {
			if c[1] > c[0] {
				regions = append(regions, Region{Start: base + uint64(c[0]), End: base + uint64(c[1]), Perms: "rw-p"})
			}
		}
		res, err := ScanRegions(mem, regions, needles, Options{ChunkSize: 1 + r.IntN(300), MaxHits: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range needles {
			want := 0
			wantAt := map[uint64]bool{}
			for _, reg := range regions {
				c, at := naiveCount(data[reg.Start-base:reg.End-base], n.Bytes)
				want += c
				for _, a := range at {
					wantAt[reg.Start+uint64(a)] = true
				}
			}
			if res.Counts[i] != want {
				t.Fatalf("trial %d needle %d (len %d): %d hits, want %d", trial, i, len(n.Bytes), res.Counts[i], want)
			}
			for _, h := range res.Hits {
				if h.Needle == i && !wantAt[h.Addr] {
					t.Fatalf("trial %d needle %d: hit at %#x is not an occurrence", trial, i, h.Addr)
				}
			}
		}
		if res.BytesScanned != uint64(size) || res.BytesSkipped != 0 {
			t.Fatalf("trial %d: scanned %d skipped %d of %d", trial, res.BytesScanned, res.BytesSkipped, size)
		}
	}
}

// A read error skips the rest of its region, is accounted for, and the
// scan goes on with the next region.
func TestScanSkipsUnreadable(t *testing.T) {
	data := bytes.Repeat([]byte("ab"), 8192)
	copy(data[100:], "NEEDLE")
	copy(data[12000:], "NEEDLE")
	mem := &fakeMem{base: 0x10000, data: data, bad: 0x10000 + 9000}
	regions := []Region{
		{Start: 0x10000, End: 0x10000 + 10000, Perms: "rw-p", Name: "[heap]"},
		{Start: 0x10000 + 10000, End: 0x10000 + 16384, Perms: "r--p"},
		{Start: 0xffffffffff600000, End: 0xffffffffff601000, Perms: "--xp", Name: "[vsyscall]"},
	}
	res, err := ScanRegions(mem, regions, []Needle{{Name: "n", Bytes: []byte("NEEDLE")}}, Options{ChunkSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[0] != 1 || res.Hits[0].Addr != 0x10000+100 || res.Hits[0].Region != "[heap]" {
		t.Fatalf("hits %+v", res.Hits)
	}
	// Region 1: read up to the bad byte at 9000 (the partial read is
	// searched), the rest [9000,10000) skipped; region 2 fails whole;
	// [vsyscall] is out of range.
	if res.BytesScanned != 9000 || res.RegionsSkipped != 3 || res.BytesSkipped != (10000-9000)+6384+4096 || res.Regions != 1 {
		t.Fatalf("accounting: %s %+v", res, res.Skipped)
	}
	if _, err := ScanRegions(mem, regions, []Needle{{Name: "empty"}}, Options{}); err == nil {
		t.Fatal("an empty needle was accepted")
	}
	if _, err := ScanRegions(mem, regions, []Needle{{Name: "zeros", Bytes: make([]byte, 8)}}, Options{}); err == nil {
		t.Fatal("an all-zero needle was accepted")
	}
}

func TestEncodings(t *testing.T) {
	for _, s := range []string{"", "hello", "héllo wörld", "emoji 🦊 and 中文", "\xff bad"} {
		want := utf16.Encode([]rune(s))
		got := UTF16LE([]byte(s))
		if len(got) != 2*len(want) {
			t.Fatalf("%q: %d bytes, want %d", s, len(got), 2*len(want))
		}
		for i, u := range want {
			if uint16(got[2*i])|uint16(got[2*i+1])<<8 != u {
				t.Fatalf("%q: unit %d differs", s, i)
			}
		}
	}
	if got := Int32LE([]int32{1, -1, 151643}); !bytes.Equal(got, []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x5b, 0x50, 0x02, 0}) {
		t.Fatalf("Int32LE: % x", got)
	}
	if got := Int64LE([]int32{1, -1, 151643}); !bytes.Equal(got, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5b, 0x50, 0x02, 0, 0, 0, 0, 0}) {
		t.Fatalf("Int64LE: % x", got)
	}
	ns := Encodings("c", []byte("ab"))
	if len(ns) != 2 || !bytes.Equal(ns[1].Bytes, []byte("a\x00b\x00")) || ns[0].Name != "c/raw" {
		t.Fatalf("Encodings: %+v", ns)
	}
}

// DecimalIDs is what encoding/json writes between the brackets of an
// []int32, so a needle made from it matches the context's JSON.
func TestDecimalIDs(t *testing.T) {
	for _, ids := range [][]int32{{7}, {1, -1, 151643}, {0, 10, 2147483647, -2147483648}, {}} {
		j, err := json.Marshal(ids)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(DecimalIDs(ids)), strings.Trim(string(j), "[]"); got != want {
			t.Errorf("DecimalIDs(%v) = %q, want %q", ids, got, want)
		}
	}
}

type readerAtFunc func([]byte, int64) (int, error)

func (f readerAtFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

// Scanning speed over resident memory with a dozen 32-to-128-byte needles,
// as the memory-scan proof uses.
func BenchmarkScan(b *testing.B) {
	data := make([]byte, 64<<20)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	var needles []Needle
	for k := range 4 {
		c := make([]byte, 32)
		for i := range c {
			c[i] = 'a' + byte(r.IntN(26))
		}
		needles = append(needles, Encodings(fmt.Sprint(k), c)...)
		needles = append(needles, Needle{Name: "tok", Bytes: Int32LE([]int32{int32(k), 100, 200, 300, 400, 500, 600, 700})})
	}
	mem := readerAtFunc(func(p []byte, off int64) (int, error) {
		if off >= int64(len(data)) {
			return 0, io.EOF
		}
		return copy(p, data[off:]), nil
	})
	regions := []Region{{Start: 0, End: uint64(len(data)), Perms: "rw-p"}}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ScanRegions(mem, regions, needles, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// Retry scans again until nothing is found, and gives up with the last
// result once its time is up; an error ends it at once.
func TestRetry(t *testing.T) {
	hits := func(n int) *Result { return &Result{Counts: []int{n}} }
	for _, tc := range []struct {
		name  string
		seq   []int // hits of each scan; -1 is an error
		wait  time.Duration
		scans int
		last  int
		err   bool
	}{
		{"clean at once", []int{0}, time.Second, 1, 0, false},
		{"clean on the third", []int{2, 1, 0}, 5 * time.Second, 3, 0, false},
		{"never clean", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 250 * time.Millisecond, 4, 1, false},
		{"error", []int{1, -1, 0}, 5 * time.Second, 2, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scans := 0
			res, err := Retry(tc.wait, func() (*Result, error) {
				n := tc.seq[min(scans, len(tc.seq)-1)]
				scans++
				if n < 0 {
					return nil, errors.New("read failed")
				}
				return hits(n), nil
			})
			if (err != nil) != tc.err || scans < tc.scans-1 || scans > tc.scans {
				t.Fatalf("%d scans, err %v; want %d, error %v", scans, err, tc.scans, tc.err)
			}
			if err == nil && res.Total() != tc.last {
				t.Fatalf("last result has %d hits, want %d", res.Total(), tc.last)
			}
		})
	}
}

// Describe names each hit without the needle's bytes.
func TestDescribe(t *testing.T) {
	r := &Result{Hits: []Hit{{Name: "canary/raw", Addr: 0x1000, Region: "[heap]", Perms: "rw-p"}}}
	got := r.Describe()
	if len(got) != 1 || got[0] != "hit: canary/raw at 0x1000 in [heap] (rw-p)" {
		t.Fatalf("%q", got)
	}
}
