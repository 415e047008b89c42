package bhttp

import (
	"net/http"
	"testing"
)

// BenchmarkParseRequest: an Ollama-sized request (a few headers, 4 KiB of
// JSON) in each framing.
func BenchmarkParseRequest(b *testing.B) {
	r := &Request{Method: "POST", Scheme: "https", Authority: "pith.example", Path: "/api/chat",
		Header: http.Header{"Content-Type": {"application/json"}, "User-Agent": {"ollama-go/0.17.4"}},
		Body:   make([]byte, 4096)}
	for _, tc := range []struct {
		name    string
		marshal func(*Request) ([]byte, error)
	}{{"known-length", (*Request).MarshalKnownLength}, {"indeterminate", (*Request).MarshalIndeterminate}} {
		wire, _ := tc.marshal(r)
		buf := make([]byte, 8192)
		p := Parser{Alloc: func(n int) []byte { return buf[:n] }}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				if _, err := p.ParseRequest(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
