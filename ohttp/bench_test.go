package ohttp

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"
)

// BenchmarkExchange: one sealed request of 1 KiB opened by the gateway and
// a 4 KiB response sealed and opened; the gateway-side cost per request.
func BenchmarkExchange(b *testing.B) {
	for _, kem := range kems {
		b.Run(kem.name, func(b *testing.B) {
			g, k := newGateway(b, 1, kem.id)
			req, resp := make([]byte, 1024), make([]byte, 4096)
			for b.Loop() {
				msg, cctx, err := EncapsulateRequest(k.Config(), Suite{1, 1}, req, nil)
				if err != nil {
					b.Fatal(err)
				}
				_, gctx, err := g.DecapsulateRequest(msg)
				if err != nil {
					b.Fatal(err)
				}
				sealed, _ := gctx.EncapsulateResponse(resp)
				if _, err := cctx.DecapsulateResponse(sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChunkedResponse: sealing and opening a streamed response in
// 64-byte chunks (about one NDJSON line per token).
func BenchmarkChunkedResponse(b *testing.B) {
	k, _ := GenerateKey(1, KEMX25519, rand.Reader)
	g, _ := NewGateway(k)
	line := bytes.Repeat([]byte("t"), 64)
	const lines = 256
	b.SetBytes(lines * 64)
	for b.Loop() {
		var rb, out bytes.Buffer
		w, cctx, _ := NewChunkedRequestWriter(k.Config(), Suite{1, 1}, &rb, nil)
		w.Close()
		_, gctx, err := g.NewChunkedRequestReader(&rb)
		if err != nil {
			b.Fatal(err)
		}
		rw, _ := NewChunkedResponseWriter(gctx, &out)
		for range lines {
			rw.Write(line)
		}
		rw.Close()
		n, err := io.Copy(io.Discard, NewChunkedResponseReader(cctx, &out))
		if err != nil || n != lines*64 {
			b.Fatal(n, err)
		}
	}
}
