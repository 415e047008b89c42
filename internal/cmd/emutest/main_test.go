//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The initramfs unpacks with GNU cpio as the kernel unpacks it: every file
// with its bytes and mode, the directories present.
func TestInitramfsUnpacksWithCpio(t *testing.T) {
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("no cpio here")
	}
	dir := t.TempDir()
	self := filepath.Join(dir, "self")
	testBin := filepath.Join(dir, "testbin")
	os.WriteFile(self, []byte("init program"), 0o755)
	os.WriteFile(testBin, bytes.Repeat([]byte{1, 2, 3}, 1001), 0o755) // not a multiple of 4
	gz, err := initramfs(self, testBin, "-test.run ^TestX$ -test.v", "A=1\nB=x y")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	cmd := exec.Command(cpio, "-idm", "--quiet")
	cmd.Dir, cmd.Stdin = out, bytes.NewReader(raw)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v: %s", err, b)
	}
	for name, want := range map[string]string{
		"init": "init program",
		"test": string(bytes.Repeat([]byte{1, 2, 3}, 1001)),
		"args": "-test.run ^TestX$ -test.v",
		"env":  "A=1\nB=x y",
	} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: %d bytes (%v), want %d", name, len(got), err, len(want))
		}
	}
	for name, exe := range map[string]bool{"init": true, "test": true, "args": false, "env": false} {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil || (fi.Mode()&0o100 != 0) != exe {
			t.Errorf("%s: mode %v (%v)", name, fi.Mode(), err)
		}
	}
	for _, d := range []string{"dev", "proc", "sys", "tmp"} {
		if fi, err := os.Stat(filepath.Join(out, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: not a directory (%v)", d, err)
		}
	}
}

func TestTailerReturnsWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serial")
	var tl tailer
	if got := tl.lines(path); len(got) != 0 {
		t.Fatalf("missing file: %q", got)
	}
	f, _ := os.Create(path)
	defer f.Close()
	f.WriteString("one\r\ntw")
	if got := tl.lines(path); len(got) != 1 || got[0] != "one" {
		t.Fatalf("first read %q", got)
	}
	f.WriteString("o\nthree\n")
	if got := tl.lines(path); len(got) != 2 || got[0] != "two" || got[1] != "three" {
		t.Fatalf("second read %q", got)
	}
}
