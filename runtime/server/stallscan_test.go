package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/memscan"
	"github.com/pith-project/pith/internal/wipe"
	"github.com/pith-project/pith/ohttp"
)

// A sealed, streamed generation whose client stops reading is dropped
// after WriteTimeout (TestStalledReaderTimesOut), and nothing of it is
// left in the server's memory then. The scan must find the canary's text
// and token ids while the stalled request holds them (so the needles are
// what the server makes), and neither once the server has dropped it.
func TestStalledReaderScan(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a child process")
	}
	if !wipe.Enabled {
		t.Skip("wipe.Enabled is false (no GOEXPERIMENT=runtimesecret, another platform, or pithnowipe): the server says it cannot erase heap copies")
	}
	c := memscan.StartChild(t, "TestServeChild", serveChildEnv+"=1")
	line := c.Line(t)
	addr, ok := strings.CutPrefix(line, "ADDR ")
	if !ok {
		t.Fatalf("child said %q", line)
	}

	b := make([]byte, 32)
	rand.Read(b)
	text := hex.EncodeToString(b)
	ids := testModel(t).Tokenizer.Encode(" "+text, false, false)[1:]
	needles := []memscan.Needle{
		{Name: "stalled canary", Bytes: []byte(text)},
		{Name: "stalled canary token ids", Bytes: memscan.Int32LE(ids)},
	}

	resp, err := http.Get("http://" + addr + "/.well-known/ohttp-gateway")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	msg, _ := sealChunkedTo(t, keyConfigs(t, raw), innerBHTTP(t, "/api/generate", `{"model":"tiny","raw":true,"prompt":"tell me about `+text+`","options":{"num_predict":2000,"temperature":1}}`))
	stalled := dialSmall(t, addr)
	if _, err := fmt.Fprintf(stalled, "POST /v1/ohttp HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		ohttp.MediaTypeChunkedReq, len(msg), msg); err != nil {
		t.Fatal(err)
	}

	// While the request is stalled (WriteTimeout, 4 s), its text and ids
	// are in the server. The quick scan: readable regions only, for up to
	// 2.5 s (a loaded machine is slow to open, tokenize and scan).
	for found := time.Now().Add(2500 * time.Millisecond); ; {
		res := c.Scan(t, needles, memscan.Options{SkipUnreadable: true})
		if res.Counts[0] > 0 && res.Counts[1] > 0 {
			break
		}
		if time.Now().After(found) {
			t.Fatalf("the scan does not find the canary (%v hits of text and ids) while its request runs: the needles are not what the server holds", res.Counts)
		}
	}
	// The server drops the stalled client after WriteTimeout (reading
	// before then would unstall it): what is left to read ends there.
	time.Sleep(5 * time.Second)
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, stalled); err != nil {
		t.Fatalf("the stalled connection was not closed by the server: %v", err)
	}
	scanClean(t, c, needles, "the server dropped the stalled request")
}
