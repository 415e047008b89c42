package bhttp_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/pith-project/pith/bhttp"
)

func Example() {
	req := &bhttp.Request{
		Method: "POST", Scheme: "https", Authority: "pith.example", Path: "/api/generate",
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"model":"qwen2.5:0.5b","prompt":"hi"}`),
	}
	wire, err := req.MarshalKnownLength()
	if err != nil {
		panic(err)
	}
	got, err := bhttp.ParseRequest(wire)
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Method, got.Path, got.Header.Get("Content-Type"), string(got.Body))

	// A streamed response: chunks are readable as they are written.
	var stream bytes.Buffer
	enc := bhttp.NewResponseEncoder(&stream)
	enc.WriteHeader(200, http.Header{"Content-Type": {"application/x-ndjson"}})
	enc.Write([]byte("{\"response\":\"Hel\"}\n"))
	enc.Write([]byte("{\"response\":\"lo\"}\n"))
	enc.Close()
	dec := bhttp.NewResponseDecoder(&stream, nil)
	body, err := io.ReadAll(dec)
	if err != nil {
		panic(err)
	}
	fmt.Print(dec.Response().Status, " ", string(body))
	// Output:
	// POST /api/generate application/json {"model":"qwen2.5:0.5b","prompt":"hi"}
	// 200 {"response":"Hel"}
	// {"response":"lo"}
}
