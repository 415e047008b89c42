package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// SuiteServe holds end-to-end serving figures: one sample per request.
const SuiteServe = "serve"

// SystemPithPlain is pith's unsealed development API on the same server,
// the baseline that prices the sealing.
const SystemPithPlain = "pith-plaintext"

// SystemPithNoWipe is the plaintext API of a second server built with the
// test-only pithnowipe tag (arena wipe, runtime/secret and the per-request
// collection all off): against pith-plaintext it prices the wiping.
const SystemPithNoWipe = "pith-nowipe"

// A ServeTarget is one way of sending a generation request. Generate sends
// prompt, asks for up to n tokens, calls first when the first token
// arrives, and returns how many tokens were generated and how long the
// server says generating them took (its own timing, because a stream may
// reach the client in bursts).
type ServeTarget struct {
	System   string
	Generate func(ctx context.Context, prompt string, n int, first func()) (Generated, error)
}

// Generated is what a server reports about one generation.
type Generated struct {
	Tokens  int
	Seconds float64 // generation time after the prompt, by the server's clock
}

// ServeOptions choose what RunServe measures.
type ServeOptions struct {
	Targets     []ServeTarget
	Concurrency []int // clients sending at once
	// Requests per target and concurrency level (after one warm-up request
	// per level); 0 means max(8, 2×concurrency).
	Requests int
	Prompt   string
	Gen      int
	Progress func(format string, args ...any)
}

// RunServe sends requests from c concurrent clients to each target, for
// each concurrency level c, the targets taking turns level by level (the
// first target alternating), and adds per-request figures to r: time to
// first token, total latency, generation speed once the first token is out,
// and the throughput of the whole level (one sample: tokens over wall time).
func RunServe(ctx context.Context, r *Report, opts ServeOptions) error {
	if len(opts.Targets) == 0 {
		return errors.New("bench: serve: no targets")
	}
	if opts.Gen < 1 {
		return fmt.Errorf("bench: serve: generation length %d", opts.Gen)
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	for li, c := range opts.Concurrency {
		if c < 1 {
			return fmt.Errorf("bench: serve: concurrency %d", c)
		}
		n := opts.Requests
		if n <= 0 {
			n = max(8, 2*c)
		}
		for ti := range opts.Targets {
			tg := opts.Targets[(ti+li)%len(opts.Targets)]
			if _, err := tg.Generate(ctx, opts.Prompt, opts.Gen, func() {}); err != nil {
				return fmt.Errorf("bench: serve: %s warm-up: %w", tg.System, err)
			}
			res, wall, err := serveLevel(ctx, tg, c, n, opts.Prompt, opts.Gen)
			if err != nil {
				return fmt.Errorf("bench: serve: %s at concurrency %d: %w", tg.System, c, err)
			}
			var ttft, lat, speed []float64
			total := 0
			for _, q := range res {
				ttft = append(ttft, ms(q.ttft))
				lat = append(lat, ms(q.total))
				if q.gen.Tokens > 0 && q.gen.Seconds > 0 {
					speed = append(speed, float64(q.gen.Tokens)/q.gen.Seconds)
				}
				total += q.gen.Tokens
			}
			add := func(test, unit string, s []float64) {
				if len(s) > 0 {
					r.Add(Figure{Suite: SuiteServe, System: tg.System, Test: test, Threads: c, Unit: unit, Samples: s})
				}
			}
			add("ttft", UnitMillis, ttft)
			add("latency", UnitMillis, lat)
			add("gen", UnitTokPerSec, speed)
			add("throughput", UnitTokPerSec, []float64{float64(total) / wall.Seconds()})
			progress("serve %-15s c=%d  %d requests  ttft p50 %.0f ms  latency p50 %.0f ms p95 %.0f ms  %.1f tok/s overall",
				tg.System, c, len(res), Quantile(ttft, 0.5), Quantile(lat, 0.5), Quantile(lat, 0.95), float64(total)/wall.Seconds())
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type served struct {
	ttft, total time.Duration
	gen         Generated
}

// serveLevel sends n requests from c workers and returns each request's
// timings and the wall time of the whole level.
func serveLevel(ctx context.Context, tg ServeTarget, c, n int, prompt string, gen int) ([]served, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	var (
		mu    sync.Mutex
		out   []served
		first error
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				if ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				var ttft time.Duration
				g, err := tg.Generate(ctx, prompt, gen, func() {
					if ttft == 0 {
						ttft = time.Since(t0)
					}
				})
				total := time.Since(t0)
				mu.Lock()
				if err != nil {
					if first == nil {
						first = err
					}
					cancel()
				} else {
					if ttft == 0 {
						ttft = total
					}
					out = append(out, served{ttft, total, g})
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, 0, first
	}
	return out, time.Since(start), nil
}

// Quantile is the q-quantile of xs by linear interpolation between the
// order statistics (the R-7 / NumPy default method).
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	h := q * float64(len(s)-1)
	lo := int(h)
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// OllamaTarget generates through the Ollama API's streaming /api/generate
// at base (a pith server's plaintext API, or any URL when hc seals the
// requests), in raw mode so the prompt is used as given.
func OllamaTarget(system string, hc *http.Client, base, modelName string) ServeTarget {
	return ServeTarget{System: system, Generate: func(ctx context.Context, prompt string, n int, first func()) (Generated, error) {
		body, _ := json.Marshal(map[string]any{
			"model": modelName, "prompt": prompt, "raw": true, "stream": true,
			"options": map[string]any{"num_predict": n, "temperature": 0, "seed": 1},
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/api/generate", bytes.NewReader(body))
		if err != nil {
			return Generated{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return Generated{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return Generated{}, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
		}
		return readOllamaStream(resp.Body, first)
	}}
}

// readOllamaStream reads /api/generate's NDJSON stream: every message but
// the last carries one token (its text may be empty, part of a UTF-8
// sequence); the last has eval_count and eval_duration (nanoseconds).
func readOllamaStream(r io.Reader, first func()) (Generated, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		var m struct {
			Done         bool   `json:"done"`
			EvalCount    int    `json:"eval_count"`
			EvalDuration int64  `json:"eval_duration"`
			Error        string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return Generated{}, fmt.Errorf("ollama stream: %w", err)
		}
		if m.Error != "" {
			return Generated{}, fmt.Errorf("ollama stream: server error %q", m.Error)
		}
		if !seen {
			seen = true
			first()
		}
		if m.Done {
			if m.EvalCount < 0 || m.EvalDuration < 0 {
				return Generated{}, fmt.Errorf("ollama stream: eval_count %d, eval_duration %d", m.EvalCount, m.EvalDuration)
			}
			return Generated{Tokens: m.EvalCount, Seconds: float64(m.EvalDuration) / 1e9}, nil
		}
	}
	if err := sc.Err(); err != nil {
		return Generated{}, fmt.Errorf("ollama stream: %w", err)
	}
	return Generated{}, errors.New("ollama stream: ended without a final message")
}

// llamaHTTP opens a connection per request: llama-server (cpp-httplib)
// closes idle keep-alive connections on its own schedule, and a POST sent
// on one it just closed fails with EOF, which Go does not retry.
var llamaHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// LlamaServerTarget generates through llama-server's streaming /completion.
func LlamaServerTarget(base string) ServeTarget {
	return ServeTarget{System: SystemLlama, Generate: func(ctx context.Context, prompt string, n int, first func()) (Generated, error) {
		body, _ := json.Marshal(map[string]any{
			"prompt": prompt, "n_predict": n, "stream": true, "temperature": 0, "seed": 1, "cache_prompt": false,
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/completion", bytes.NewReader(body))
		if err != nil {
			return Generated{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := llamaHTTP.Do(req)
		if err != nil {
			return Generated{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return Generated{}, fmt.Errorf("llama-server: %s: %s", resp.Status, bytes.TrimSpace(b))
		}
		return readLlamaStream(resp.Body, first)
	}}
}

// readLlamaStream reads llama-server's server-sent events: one per token,
// then a final one (stop) with timings.predicted_n and predicted_ms.
func readLlamaStream(r io.Reader, first func()) (Generated, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
		if !ok {
			continue
		}
		var m struct {
			Stop    bool `json:"stop"`
			Timings struct {
				PredictedN  int     `json:"predicted_n"`
				PredictedMS float64 `json:"predicted_ms"`
			} `json:"timings"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return Generated{}, fmt.Errorf("llama-server stream: %w", err)
		}
		if !seen {
			seen = true
			first()
		}
		if m.Stop {
			t := m.Timings
			if t.PredictedN < 0 || !(t.PredictedMS >= 0) {
				return Generated{}, fmt.Errorf("llama-server stream: predicted_n %d, predicted_ms %v", t.PredictedN, t.PredictedMS)
			}
			return Generated{Tokens: t.PredictedN, Seconds: t.PredictedMS / 1e3}, nil
		}
	}
	if err := sc.Err(); err != nil {
		return Generated{}, fmt.Errorf("llama-server stream: %w", err)
	}
	return Generated{}, errors.New("llama-server stream: ended without a final event")
}
