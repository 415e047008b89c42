package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/pith-project/pith/bhttp"
)

// heldWriter keeps the slice it is given: fmt.Fprint writes its pooled
// printer's own buffer, so this is a window into that buffer.
type heldWriter struct{ held []byte }

func (w *heldWriter) Write(p []byte) (int, error) {
	w.held = p
	return len(p), nil
}

// fmt's printers live in a sync.Pool, and one made outside wipe.Do (by
// http.Error on the gateway's outer errors, by slog, by net/http) is
// never erased: request content formatted with fmt inside a request can
// land in such a printer's buffer and stay in freed memory after the
// request. So no error that quotes request content may be made with fmt.
func TestRequestContentNotFormattedWithFmt(t *testing.T) {
	s := newTestServer(t, Limits{})
	canary := "c4n4ry" + strings.Repeat("q", 40)
	// An inner request whose path net/url would parse as an authority
	// with a bad port.
	authority, err := (&bhttp.Request{Method: "GET", Scheme: "https", Authority: "pith", Path: "//h:" + canary + "/x"}).MarshalKnownLength()
	if err != nil {
		t.Fatal(err)
	}
	outer := httptest.NewRequest(http.MethodPost, "/v1/ohttp", nil)
	for _, tc := range []struct {
		name string
		err  func() error
		// names: the error itself names the value, so that the test
		// sees it was formatted; otherwise the error must not be nil.
		names bool
	}{
		{"unknown model", func() error { return s.checkModel(canary) }, true},
		{"inner path parsed as an authority", func() error { _, err := innerRequest(outer, authority); return err }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One P, no automatic collection: the printer the next fmt
			// call takes from the pool is the one put there below.
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			runtime.GC()
			runtime.GC() // the pool is empty now
			var w heldWriter
			if _, err := fmt.Fprint(&w, strings.Repeat("-", 256)); err != nil {
				t.Fatal(err)
			}
			printer := w.held[:cap(w.held)]
			err := tc.err()
			// The printer first: the error's Error may use fmt itself.
			if bytes.Contains(printer, []byte(canary)) {
				t.Fatalf("the request's %q was formatted in fmt's pooled printer", canary)
			}
			if err == nil || tc.names != strings.Contains(err.Error(), canary) {
				t.Fatalf("error %v: want one that names the request's value %v", err, tc.names)
			}
		})
	}
}
