// Package inputstest gives tests the pinned measurement inputs: it fetches
// them through package inputs and skips the test only when they cannot be
// had here and PITH_ORACLES is unset (internal/oracle's rule), so `make
// test` can never pass by skipping. A digest mismatch always fails.
package inputstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/pith-project/pith/image/cpio"
	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/internal/oracle"
)

// Load returns the bytes of a pinned input.
func Load(t testing.TB, d inputs.Deb) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := inputs.Load(ctx, d)
	if errors.Is(err, inputs.ErrUnavailable) && !oracle.Mandatory() {
		t.Skipf("%v (PITH_ORACLES is unset, so this skips; 'make test' makes it a failure)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// VectorInitrdSHA256 is the digest of the shared vectors' initrd.cpio.
const VectorInitrdSHA256 = "bfbfa7d21bfd68be6f67b0df420ee6e1b9620814e432cefecc32cf51aca86c55"

// VectorInitrd builds the shared vectors' initrd.cpio (one file "init"
// holding "pith-vector\n", mtime 0, padded to 512) with our cpio writer
// and checks it against the vectors' digest.
func VectorInitrd(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := cpio.Write(&buf, []cpio.Entry{{Path: "init", Mode: 0o100755, Data: []byte("pith-vector\n")}}, 0, 512); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(buf.Bytes()); hex.EncodeToString(sum[:]) != VectorInitrdSHA256 {
		t.Fatalf("vector initrd SHA-256 %x, want %s", sum, VectorInitrdSHA256)
	}
	return buf.Bytes()
}
