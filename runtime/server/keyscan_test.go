package server

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/internal/memscan"
	"github.com/pith-project/pith/internal/wipe"
)

const keysChildEnv = "PITH_SERVER_KEYS_CHILD"

// TestKeysChild is the process under scan in TestRotatedKeysErased: a
// server whose first keys come from the 64 bytes of kernel randomness
// given in its environment. On "r" it rotates its keys, dropping the old
// ones at once (RotateKeys(false)); on end of input it exits. Run
// directly it does nothing.
func TestKeysChild(t *testing.T) {
	ikm, err := hex.DecodeString(os.Getenv(keysChildEnv))
	if err != nil || len(ikm) != 64 {
		return
	}
	dev, err := attest.NewDevProvider(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Model: testModel(t), Attest: dev, AllowUnlockedArena: true, Logger: slog.New(slog.DiscardHandler),
		Rand: io.MultiReader(bytes.NewReader(ikm), rand.Reader)})
	if err != nil {
		t.Fatal(err)
	}
	clear(ikm)
	fmt.Println("READY")
	in := bufio.NewReader(os.Stdin)
	for {
		c, err := in.ReadByte()
		if err != nil {
			os.Exit(0)
		}
		if c == 'r' {
			if err := s.RotateKeys(false); err != nil {
				t.Fatal(err)
			}
			fmt.Println("ROTATED")
		}
	}
}

// keySecrets are the first 32 bytes of each key's HKDF stream (keyStream)
// for the kernel randomness ikm when the platform has no derived secret:
// the X25519 scalar and the hybrid KEM's seed, which is all either key
// is (ohttp.GenerateKey), in each of its copies.
func keySecrets(t *testing.T, ikm []byte) []memscan.Needle {
	var out []memscan.Needle
	for i, kem := range []uint16{kemHybrid, kemX25519} {
		id := uint8(1 + i)
		seed, err := hkdf.Key(sha256.New, ikm[32*i:32*i+32], []byte("pith-ohttp-keys-v1"), fmt.Sprintf("pith ohttp key id %d kem %#04x", id, kem), 256)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, memscan.Needle{Name: fmt.Sprintf("private key %d (KEM %#04x)", id, kem), Bytes: seed[:32]}) // ohttp.GenerateKey reads 32 bytes
	}
	return out
}

// A key rotated out must leave the server's memory: whoever later reads
// it opens every request ever sealed to it, which is what rotation is
// meant to bound. The scan must see both private keys while they are
// current (so the needles are the keys), and neither once they have been
// dropped.
func TestRotatedKeysErased(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a child process")
	}
	if !wipe.Enabled {
		t.Skip("wipe.Enabled is false (no GOEXPERIMENT=runtimesecret, another platform, or pithnowipe): the server says it cannot erase heap copies")
	}
	ikm := make([]byte, 64)
	rand.Read(ikm)
	needles := keySecrets(t, ikm)
	c := memscan.StartChild(t, "TestKeysChild", keysChildEnv+"="+hex.EncodeToString(ikm))
	if l := c.Line(t); l != "READY" {
		t.Fatalf("child said %q", l)
	}
	res := c.Scan(t, needles, memscan.Options{})
	for i, n := range needles {
		if res.Counts[i] == 0 {
			t.Fatalf("the scan does not find the current %s: the needles are not the keys", n.Name)
		}
	}
	if _, err := io.WriteString(c.In, "r"); err != nil {
		t.Fatal(err)
	}
	if l := c.Line(t); l != "ROTATED" {
		t.Fatalf("child said %q", l)
	}
	scanClean(t, c, needles, "the rotation that dropped them")
}
