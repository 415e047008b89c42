package attest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The configfs-tsm report interface (Linux 6.7+, Documentation/ABI/testing/
// configfs-tsm): make a directory under report/, write REPORT_DATA to
// inblob, read outblob (and auxblob, the SEV-SNP certificate table), check
// that generation did not move (another writer raced us), remove the
// directory. It is the same for SEV-SNP and TDX; provider says which.

// maxTSMBlob bounds what we read from configfs: a TDX quote with its
// certification data is a few KiB, an SNP certificate table a few KiB more.
const maxTSMBlob = 1 << 20

// tsmProvider returns the provider name configfs-tsm reports under dir, or
// "" when there is none. It makes and removes a probe entry, as reading the
// provider requires one.
func tsmProvider(dir string) string {
	if !exists(dir) {
		return ""
	}
	entry, err := tsmMkdir(dir)
	if err != nil {
		return ""
	}
	defer os.Remove(entry)
	b, err := readSmall(filepath.Join(entry, "provider"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func tsmMkdir(dir string) (string, error) {
	var r [8]byte
	rand.Read(r[:])
	entry := filepath.Join(dir, "pith-"+hex.EncodeToString(r[:]))
	if err := os.Mkdir(entry, 0o700); err != nil {
		return "", fmt.Errorf("attest: configfs-tsm entry %q: %w", entry, err)
	}
	return entry, nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTSMBlob+1))
	if err != nil {
		return nil, fmt.Errorf("attest: read %q: %w", path, err)
	}
	if len(b) > maxTSMBlob {
		return nil, fmt.Errorf("attest: %q larger than %d bytes", path, maxTSMBlob)
	}
	return b, nil
}
