package memscan

import (
	"strings"
	"testing"
)

func TestParseMaps(t *testing.T) {
	good := `55d0c5a00000-55d0c5a21000 rw-p 00000000 00:00 0                          [heap]
7f1c2a000000-7f1c2a021000 r-xp 0001c000 fd:01 1234567                    /usr/lib/with space/libc.so.6 (deleted)
7ffd1e9f2000-7ffd1e9f6000 r--p 00000000 00:00 0                          [vvar]
7f1c2b000000-7f1c2b400000 ---p 00000000 00:00 0 
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`
	rs, err := ParseMaps(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Region{
		{0x55d0c5a00000, 0x55d0c5a21000, "rw-p", 0, "00:00", 0, "[heap]"},
		{0x7f1c2a000000, 0x7f1c2a021000, "r-xp", 0x1c000, "fd:01", 1234567, "/usr/lib/with space/libc.so.6 (deleted)"},
		{0x7ffd1e9f2000, 0x7ffd1e9f6000, "r--p", 0, "00:00", 0, "[vvar]"},
		{0x7f1c2b000000, 0x7f1c2b400000, "---p", 0, "00:00", 0, ""},
		{0xffffffffff600000, 0xffffffffff601000, "--xp", 0, "00:00", 0, "[vsyscall]"},
	}
	if len(rs) != len(want) {
		t.Fatalf("%d regions, want %d", len(rs), len(want))
	}
	for i := range want {
		if rs[i] != want[i] {
			t.Errorf("region %d: %+v, want %+v", i, rs[i], want[i])
		}
	}
	if rs[3].Label() != "[anon]" || rs[3].Readable() || rs[3].Size() != 0x400000 {
		t.Errorf("anonymous region: label %q readable %v size %#x", rs[3].Label(), rs[3].Readable(), rs[3].Size())
	}

	bad := []struct{ name, line string }{
		{"no dash", "55d0c5a00000 rw-p 00000000 00:00 0"},
		{"inverted", "2000-1000 rw-p 00000000 00:00 0"},
		{"empty range", "1000-1000 rw-p 00000000 00:00 0"},
		{"bad perms", "1000-2000 rwzp 00000000 00:00 0"},
		{"short perms", "1000-2000 rw 00000000 00:00 0"},
		{"bad offset", "1000-2000 rw-p xyz 00:00 0"},
		{"bad device", "1000-2000 rw-p 00000000 0000 0"},
		{"bad inode", "1000-2000 rw-p 00000000 00:00 -1"},
		{"four fields", "1000-2000 rw-p 00000000 00:00"},
		{"huge address", "1000-10000000000000000 rw-p 0 00:00 0"},
		{"too long", "1000-2000 rw-p 0 00:00 0 /" + strings.Repeat("a", maxMapsLine)},
	}
	for _, b := range bad {
		if _, err := ParseMaps(strings.NewReader(b.line + "\n")); err == nil {
			t.Errorf("%s: accepted %q", b.name, b.line)
		}
	}
}

// Whatever the text, ParseMaps returns regions with sane fields or an
// error; it never panics.
func FuzzParseMaps(f *testing.F) {
	f.Add("55d0c5a00000-55d0c5a21000 rw-p 00000000 00:00 0  [heap]\n")
	f.Add("7f1c2a000000-7f1c2a021000 r-xp 0001c000 fd:01 1234567  /lib/a b (deleted)\n\n")
	f.Add("1-2 ---s 0 0:0 0")
	f.Add("-")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseMaps(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.End <= r.Start || len(r.Perms) != 4 || r.Label() == "" {
				t.Fatalf("bad region %+v from %q", r, s)
			}
		}
	})
}
