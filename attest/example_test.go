package attest_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/pith-project/pith/attest"
)

// A server makes a document for the client's nonce with whatever provider
// the machine has (here the development stand-in); the client verifies it
// against the manifest it trusts and encrypts only to the key that Verify
// hands back.
func Example() {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	p, err := attest.Open(ctx, "dev", quiet)
	if err != nil {
		fmt.Println(err)
		return
	}
	keyConfig := []byte("application/ohttp-keys bytes")
	nonce := make([]byte, attest.NonceSize)
	rand.Read(nonce)
	raw, err := attest.NewDocument(ctx, p, nonce, keyConfig, nil)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The client side.
	doc, err := attest.ParseDocument(raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	exe, _ := attest.DevMeasurement("/proc/self/exe")
	manifest := &attest.Manifest{Format: attest.ManifestFormat, Dev: &attest.DevEntry{Measurement: exe}}

	_, err = attest.Verify(doc, nonce, attest.DefaultPolicy(), manifest)
	fmt.Println(err)

	policy := attest.DefaultPolicy()
	policy.AllowDev = true
	res, err := attest.Verify(doc, nonce, policy, manifest)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.SplitN(res.Proven, ":", 2)[0])
	fmt.Println(string(res.KeyConfig))
	// Output:
	// verify: platform: dev is the development stand-in, whose signing key the software made itself; refused without --allow-dev (Policy.AllowDev)
	// NOTHING WAS PROVEN
	// application/ohttp-keys bytes
}
