package ohttp_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"

	"github.com/pith-project/pith/ohttp"
)

func ExampleNewChunkedResponseWriter() {
	key, _ := ohttp.GenerateKey(1, ohttp.KEMX25519, rand.Reader)
	gw, _ := ohttp.NewGateway(key)
	cfg := key.Config()

	// Client: a chunked request (message/ohttp-chunked-req).
	var wire bytes.Buffer
	w, client, err := ohttp.NewChunkedRequestWriter(cfg, cfg.Suites[0], &wire, nil)
	if err != nil {
		panic(err)
	}
	w.Write([]byte("binary HTTP request, "))
	w.Write([]byte("in pieces"))
	w.Close()

	// Gateway: read it, then stream the response a chunk per Write.
	r, respCtx, err := gw.NewChunkedRequestReader(&wire)
	if err != nil {
		panic(err)
	}
	req, err := io.ReadAll(r)
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	rw, err := ohttp.NewChunkedResponseWriter(respCtx, &out)
	if err != nil {
		panic(err)
	}
	rw.Write([]byte("{\"response\":\"Hi\"}\n"))
	rw.Write([]byte("{\"done\":true}\n"))
	rw.Close() // without the final chunk the client reports truncation

	// Client: read the response as it arrives.
	resp, err := io.ReadAll(ohttp.NewChunkedResponseReader(client, &out))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n%s", req, resp)
	// Output:
	// binary HTTP request, in pieces
	// {"response":"Hi"}
	// {"done":true}
}
