package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/oracle"
)

// TestQuantile checks the linear-interpolation quantile against published
// values: Wikipedia's "Percentile" article (C = 1 variant, the one NumPy
// and R-7 use) gives 29 for the 40th percentile of 15, 20, 35, 40, 50, and
// numpy.percentile([1, 2, 3, 4], 95) is 3.85.
func TestQuantile(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{15, 20, 35, 40, 50}, 0.40, 29},
		{[]float64{50, 40, 35, 20, 15}, 0.40, 29},
		{[]float64{1, 2, 3, 4}, 0.95, 3.85},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{7}, 0.99, 7},
		{[]float64{1, 2}, 1, 2},
		{nil, 0.5, 0},
	} {
		if got := Quantile(c.xs, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v, %v) = %v, want %v", c.xs, c.q, got, c.want)
		}
	}
}

// The stream of ollama's docs/api.md ("Generate a completion", streaming):
// one message per token, then a final one with the counts and durations.
const ollamaDocStream = `{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","response":"The","done":false}
{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","response":" sky","done":false}
{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","response":"","done":true,"context":[1,2,3],"total_duration":10706818083,"load_duration":6338219291,"prompt_eval_count":26,"prompt_eval_duration":130079000,"eval_count":259,"eval_duration":4232710000}
`

func TestReadOllamaStream(t *testing.T) {
	firsts := 0
	g, err := readOllamaStream(strings.NewReader(ollamaDocStream), func() { firsts++ })
	if err != nil {
		t.Fatal(err)
	}
	if g.Tokens != 259 || g.Seconds != 4.23271 || firsts != 1 {
		t.Fatalf("%+v, first called %d times", g, firsts)
	}
	for _, bad := range []string{
		"",
		`{"response":"The","done":false}`,
		`{"error":"model not found"}`,
		"not json\n",
		`{"done":true,"eval_count":-1}`,
	} {
		if _, err := readOllamaStream(strings.NewReader(bad), func() {}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestReadLlamaStreamErrors(t *testing.T) {
	for _, bad := range []string{
		"",
		"data: {\"content\":\"a\",\"stop\":false}\n",
		"data: {nope\n",
		"data: {\"stop\":true,\"timings\":{\"predicted_n\":-2}}\n",
	} {
		if _, err := readLlamaStream(strings.NewReader(bad), func() {}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// fakeOllama streams tokens with a fixed delay each, as an Ollama server
// would, and reports a generation of tokens×delay.
func fakeOllama(t *testing.T, tokens int, delay time.Duration) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model   string         `json:"model"`
			Prompt  string         `json:"prompt"`
			Raw     bool           `json:"raw"`
			Options map[string]any `json:"options"`
		}
		if r.URL.Path != "/api/generate" || json.NewDecoder(r.Body).Decode(&req) != nil || req.Model != "m" || !req.Raw || req.Options["num_predict"] != float64(tokens) {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		for range tokens {
			time.Sleep(delay)
			fmt.Fprintf(w, `{"response":"x","done":false}`+"\n")
			w.(http.Flusher).Flush()
		}
		fmt.Fprintf(w, `{"response":"","done":true,"eval_count":%d,"eval_duration":%d}`+"\n", tokens, int64(tokens)*int64(delay))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestRunServe(t *testing.T) {
	const tokens, delay = 4, 5 * time.Millisecond
	s := fakeOllama(t, tokens, delay)
	r := NewReport(Env{})
	var lines []string
	err := RunServe(context.Background(), r, ServeOptions{
		Targets:     []ServeTarget{OllamaTarget(SystemPith, http.DefaultClient, s.URL, "m"), OllamaTarget(SystemPithPlain, http.DefaultClient, s.URL+"/", "m")},
		Concurrency: []int{1, 3}, Requests: 6, Prompt: "hello", Gen: tokens,
		Progress: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, sys := range []string{SystemPith, SystemPithPlain} {
		for _, c := range []int{1, 3} {
			get := func(test, unit string) *Figure {
				return r.Find(Key{Suite: SuiteServe, System: sys, Test: test, Threads: c, Unit: unit})
			}
			ttft, lat, gen, thr := get("ttft", UnitMillis), get("latency", UnitMillis), get("gen", UnitTokPerSec), get("throughput", UnitTokPerSec)
			if ttft == nil || lat == nil || gen == nil || thr == nil {
				t.Fatalf("%s c%d: figures missing", sys, c)
			}
			if len(lat.Samples) != 6 || len(thr.Samples) != 1 {
				t.Errorf("%s c%d: %d requests, %d throughput samples", sys, c, len(lat.Samples), len(thr.Samples))
			}
			// The first token comes after one delay, the last after four.
			if ttft.Min < ms(delay) || lat.Min < ms(tokens*delay) || ttft.Max > lat.Max {
				t.Errorf("%s c%d: ttft %v, latency %v", sys, c, ttft.Samples, lat.Samples)
			}
			// Generation speed is the server's own figure: 4 tokens in 20 ms.
			if gen.Min != 200 || gen.Max != 200 {
				t.Errorf("%s c%d: gen %v", sys, c, gen.Samples)
			}
		}
	}
	// The targets take turns, the first alternating by level.
	if len(lines) != 4 || !strings.Contains(lines[0], "pith ") || !strings.Contains(lines[2], "pith-plaintext") {
		t.Errorf("order %q", lines)
	}
	var b bytes.Buffer
	r.WriteText(&b)
	if !strings.Contains(b.String(), "Serving: per-request times") || !strings.Contains(b.String(), "latency p50 vs pith-plaintext") {
		t.Errorf("no serving table:\n%s", b.String())
	}
	b.Reset()
	if err := r.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	circles := 0
	for _, e := range parseSVG(t, b.Bytes()) {
		if e.name == "circle" {
			circles++
		}
	}
	// Every request's TTFT and latency: 2 systems × 2 levels × 6 × 2.
	if circles != 48 {
		t.Errorf("%d latency samples drawn, want 48", circles)
	}
}

func TestRunServeErrors(t *testing.T) {
	failing := ServeTarget{System: "x", Generate: func(context.Context, string, int, func()) (Generated, error) {
		return Generated{}, fmt.Errorf("refused")
	}}
	for _, o := range []ServeOptions{
		{Concurrency: []int{1}, Gen: 1},
		{Targets: []ServeTarget{failing}, Concurrency: []int{1}, Gen: 0},
		{Targets: []ServeTarget{failing}, Concurrency: []int{0}, Gen: 1},
		{Targets: []ServeTarget{failing}, Concurrency: []int{1}, Gen: 1},
	} {
		if err := RunServe(context.Background(), NewReport(Env{}), o); err == nil || !strings.HasPrefix(err.Error(), "bench: serve") {
			t.Errorf("%+v: error %v", o, err)
		}
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer s.Close()
	if _, err := OllamaTarget("p", http.DefaultClient, s.URL, "m").Generate(context.Background(), "x", 1, func() {}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("503 gave %v", err)
	}
}

// TestLlamaServerTarget streams from a real llama-server (the oracle).
func TestLlamaServerTarget(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	ls := oracle.StartLlamaServerT(t, tinyModel(t), "-t", "1")
	firsts := 0
	g, err := LlamaServerTarget(ls.URL).Generate(context.Background(), "the quick brown fox", 6, func() { firsts++ })
	if err != nil {
		t.Fatal(err)
	}
	if g.Tokens < 1 || g.Tokens > 6 || g.Seconds <= 0 || firsts != 1 {
		t.Fatalf("%+v, first called %d times\n%s", g, firsts, ls.Log())
	}
}

func FuzzReadStreams(f *testing.F) {
	f.Add([]byte(ollamaDocStream))
	f.Add([]byte("data: {\"content\":\"a\",\"stop\":false}\n\ndata: {\"stop\":true,\"timings\":{\"predicted_n\":1,\"predicted_ms\":2.5}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, read := range []func() (Generated, error){
			func() (Generated, error) { return readOllamaStream(bytes.NewReader(data), func() {}) },
			func() (Generated, error) { return readLlamaStream(bytes.NewReader(data), func() {}) },
		} {
			if g, err := read(); err == nil && (g.Tokens < 0 || g.Seconds < 0 || math.IsNaN(g.Seconds)) {
				t.Fatalf("accepted %+v", g)
			}
		}
	})
}
