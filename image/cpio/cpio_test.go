package cpio

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pith-project/pith/internal/oracle"
)

// The fixed initrd of ../shared/vectors (made there by make-initrd.py, an
// independent writer): our bytes must hash to the digest its README records.
func TestReproducesSharedVectorInitrd(t *testing.T) {
	var b bytes.Buffer
	if _, err := Write(&b, []Entry{{Path: "init", Mode: 0o100755, Data: []byte("pith-vector\n")}}, 0, 512); err != nil {
		t.Fatal(err)
	}
	const want = "bfbfa7d21bfd68be6f67b0df420ee6e1b9620814e432cefecc32cf51aca86c55"
	sum := sha256.Sum256(b.Bytes())
	if got := hex.EncodeToString(sum[:]); got != want || b.Len() != 512 {
		t.Fatalf("initrd: %d bytes, SHA-256 %s; the vector is 512 bytes, %s", b.Len(), got, want)
	}
}

// Input order does not matter, and GNU cpio (when installed) lists and
// extracts what we write.
func TestDeterministicAndReadableByGNUCpio(t *testing.T) {
	entries := []Entry{
		{Path: "lib/modules/x.ko.xz", Mode: 0o100644, Data: []byte("module bytes")},
		{Path: "init", Mode: 0o100755, Data: []byte("#!init\x00binary")},
		{Path: "lib", Mode: 0o40755},
		{Path: "lib/modules", Mode: 0o40755},
	}
	var a, b bytes.Buffer
	Write(&a, entries, 1700000000, 512)
	rev := []Entry{entries[3], entries[2], entries[1], entries[0]}
	Write(&b, rev, 1700000000, 512)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same entries in another order give other bytes")
	}
	gnu, err := exec.LookPath("cpio")
	if err != nil {
		msg := "GNU cpio not installed (scripts/install-oracles.sh installs it) for the cross-check"
		if oracle.Mandatory() {
			t.Fatal(msg + " [PITH_ORACLES is set]")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	cmd := exec.Command(gnu, "-idm", "--quiet", "--no-absolute-filenames")
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(a.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v: %s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "lib/modules/x.ko.xz"))
	if err != nil || string(got) != "module bytes" {
		t.Fatalf("extracted %q, %v", got, err)
	}
	st, _ := os.Stat(filepath.Join(dir, "init"))
	if st.Mode().Perm() != 0o755 || st.ModTime().Unix() != 1700000000 {
		t.Errorf("init: mode %v, mtime %d", st.Mode(), st.ModTime().Unix())
	}
}

func TestRefusesBadEntries(t *testing.T) {
	for _, e := range []Entry{
		{Path: "/abs", Mode: 0o100644},
		{Path: "a/../b", Mode: 0o100644},
		{Path: "TRAILER!!!", Mode: 0o100644},
		{Path: "dev/null", Mode: 0o20666},
		{Path: "d", Mode: 0o40755, Data: []byte("x")},
		// The name is NUL-terminated in the archive: the kernel would
		// unpack this as "init".
		{Path: "init\x00.bak", Mode: 0o100755},
	} {
		if _, err := Write(&bytes.Buffer{}, []Entry{e}, 0, 0); err == nil || !strings.Contains(err.Error(), "cpio:") {
			t.Errorf("%+v accepted (%v)", e, err)
		}
	}
	if _, err := Write(&bytes.Buffer{}, []Entry{{Path: "a", Mode: 0o100644}, {Path: "a", Mode: 0o100644}}, 0, 0); err == nil {
		t.Error("duplicate path accepted")
	}
}
