// Package server is pith's request server: the OHTTP gateway that clients
// reach after verifying the enclave's attestation, the Ollama API and
// /v1/summarize inside the sealed requests, and the discipline that keeps
// request content out of memory once its request ends.
//
// Each request's model buffers (token ids, activations, KV cache, logits,
// sampler state, stop matcher) come from a request arena (package arena):
// locked, never dumped, zeroed on every path out of the request. What must
// touch content in Go heap objects (decapsulation, BHTTP and JSON decoding,
// tokenizing, the response before sealing) runs inside runtime/secret.Do
// (internal/wipe) when pith is built with GOEXPERIMENT=runtimesecret for
// linux/amd64 or linux/arm64, so the runtime erases those objects once they
// are unreachable, and the server runs the garbage collector after each
// request so that happens at once. Built otherwise (secret.Do erases only
// there), those heap copies stay in freed memory until reused: the
// arena still holds the bulk of a request, but the memory-scan proof does not
// hold, and the server says so at start-up.
package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/internal/wipe"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/tokenizer"
)

// Limits bound what one request may ask for; each refusal is a clear error.
// A zero field takes DefaultLimits' value; a negative one is refused.
type Limits struct {
	MaxBody         int64         // bytes of a request body, sealed or not
	MaxPromptTokens int           // tokens of a rendered prompt
	MaxPredict      int           // tokens generated per request
	MaxContext      int           // num_ctx a request may ask for
	DefaultContext  int           // num_ctx when the request does not say
	MaxStops        int           // stop strings per request
	RequestTimeout  time.Duration // wall time of one request
	BodyTimeout     time.Duration // time a client may take to send a request body
	Queue           int           // requests admitted at once (running or waiting); more get 503
	Concurrent      int           // generations running at once (each has its own arena)
	// MaxConns bounds the connections open at once (0: the default's 256,
	// or Queue if that is larger); more wait in the kernel's listen
	// backlog. Every connection is a descriptor out of PID 1's 4096, which
	// the model file, attestation and DHCP need too. The price: a client
	// that holds MaxConns connections open, idle (each for up to
	// IdleTimeout) or sending headers slowly (up to HeaderTimeout), makes
	// everyone else wait in the backlog; without the cap the same client
	// would instead exhaust the descriptors, which fails more than
	// requests.
	MaxConns      int
	HeaderTimeout time.Duration // time a connection may take to send a request's headers
	IdleTimeout   time.Duration // time a kept-alive connection may wait for its next request
	// WriteTimeout is how long one write of an answer may wait for the
	// client to take it. Without it a client that stops reading holds its
	// request, with its arena and the plaintext in it, for the whole
	// RequestTimeout, and with Concurrent of them every other request
	// waits that long.
	WriteTimeout time.Duration
}

// fill gives every zero field of l DefaultLimits' value (MaxConns: the
// default's, or Queue if that is larger) and refuses negative ones. A
// zero left in place would not mean "no limit" but break every request:
// a RequestTimeout of 0 ends each generation before it starts, a
// BodyTimeout of 0 times out every body that is not in the first read, a
// MaxBody of 0 refuses every body.
func (l *Limits) fill() error {
	conns := l.MaxConns
	lv, dv := reflect.ValueOf(l).Elem(), reflect.ValueOf(DefaultLimits())
	for i := range lv.NumField() {
		f := lv.Field(i)
		if f.IsZero() {
			f.Set(dv.Field(i))
		} else if f.Int() < 0 {
			return fmt.Errorf("server: limits: %s %v must not be negative", lv.Type().Field(i).Name, f.Interface())
		}
	}
	if conns == 0 {
		l.MaxConns = max(l.MaxConns, l.Queue)
	}
	return nil
}

// DefaultLimits suit a 2-core confidential VM serving a small model.
func DefaultLimits() Limits {
	return Limits{
		MaxBody:         1 << 20,
		MaxPromptTokens: 8192,
		MaxPredict:      2048,
		MaxContext:      8192,
		DefaultContext:  4096,
		MaxStops:        16,
		RequestTimeout:  10 * time.Minute,
		BodyTimeout:     30 * time.Second,
		Queue:           16,
		Concurrent:      1,
		MaxConns:        256,
		HeaderTimeout:   10 * time.Second,
		IdleTimeout:     2 * time.Minute,
		WriteTimeout:    30 * time.Second,
	}
}

// Config is what a server needs.
type Config struct {
	Model         *model.Model
	ModelName     string // the name the Ollama API answers to, e.g. "qwen2.5:0.5b"
	ModelDigest   string // "sha256:<hex>" of the file
	ModelSize     int64
	ModelTime     time.Time
	ParameterSize string // e.g. "494M"; counted from the model's tensors if empty
	Quantization  string // e.g. "Q4_0"; the GGUF file type if empty
	Version       string

	// Attest signs the attestation documents; Manifest is the image
	// manifest served inside them (raw JSON, may be empty on a host).
	Attest   attest.Provider
	Manifest []byte
	// Keys rotate every KeyRotation (0: never); the previous keys keep
	// working for KeyGrace. Rand is the kernel's RNG (crypto/rand if nil).
	KeyRotation time.Duration
	KeyGrace    time.Duration
	Rand        io.Reader

	Limits Limits
	// AllowUnlockedArena lets a development host without CAP_IPC_LOCK run
	// with arenas that may be swapped; PID 1 never sets it.
	AllowUnlockedArena bool
	Logger             *slog.Logger
}

// Server serves requests. Make one with New.
type Server struct {
	cfg    Config
	log    *slog.Logger
	arenas *arena.Pool
	keys   *keyring
	api    http.Handler

	admitted atomic.Int64 // requests inside the queue (running or waiting)
	requests atomic.Int64 // served, for the health line only

	gcReq chan struct{}
	done  chan struct{}
}

var errOverloaded = errors.New("the server is busy: try again shortly")

// New makes a server. Its arenas are mapped and locked now, so a memory-lock
// limit shows up at start-up rather than under load.
func New(cfg Config) (*Server, error) {
	if cfg.Model == nil {
		return nil, errors.New("server: no model")
	}
	if cfg.Attest == nil {
		return nil, errors.New("server: no attestation provider")
	}
	if arena.WipeDisabled && os.Getenv("PITH_NOWIPE_CONTROL") != "1" {
		return nil, errors.New("server: built with the pithnowipe tag, which turns the request wipe off; that build is for the memory-scan control test only")
	}
	if err := cfg.Limits.fill(); err != nil {
		return nil, err
	}
	if cfg.Limits.Queue < cfg.Limits.Concurrent {
		return nil, fmt.Errorf("server: limits: queue %d must be at least concurrent %d", cfg.Limits.Queue, cfg.Limits.Concurrent)
	}
	// Each admitted request holds a connection, so fewer connections than
	// the queue would leave the queue's tail unreachable.
	if cfg.Limits.MaxConns < cfg.Limits.Queue {
		return nil, fmt.Errorf("server: limits: max connections %d must be at least queue %d", cfg.Limits.MaxConns, cfg.Limits.Queue)
	}
	cfg.Limits.DefaultContext = min(cfg.Limits.DefaultContext, cfg.Limits.MaxContext)
	if mc := cfg.Model.Config.ContextLen; mc > 0 {
		cfg.Limits.MaxContext = min(cfg.Limits.MaxContext, mc)
		cfg.Limits.DefaultContext = min(cfg.Limits.DefaultContext, cfg.Limits.MaxContext)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ModelName == "" {
		cfg.ModelName = "pith"
	}
	if cfg.ParameterSize == "" {
		cfg.ParameterSize = parameterSize(cfg.Model)
	}
	if cfg.Quantization == "" && cfg.Model.File != nil {
		cfg.Quantization = cfg.Model.File.FileType()
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.KeyGrace <= 0 {
		cfg.KeyGrace = time.Hour
	}
	s := &Server{cfg: cfg, log: cfg.Logger, gcReq: make(chan struct{}, 1), done: make(chan struct{})}
	size := ArenaSize(cfg.Model, cfg.Limits)
	pool, err := arena.NewPool(cfg.Limits.Concurrent, size, arena.Options{AllowUnlocked: cfg.AllowUnlockedArena})
	if err != nil {
		return nil, fmt.Errorf("server: request arenas (%d of %d MiB): %w", cfg.Limits.Concurrent, size>>20, err)
	}
	if !pool.Locked() {
		s.log.Warn("request arenas are NOT locked in memory: they may be swapped to disk (development host only)")
	}
	if !wipe.Enabled {
		s.log.Warn("heap copies of request content are not erased after each request: built without GOEXPERIMENT=runtimesecret, for a platform where runtime/secret does not erase (only linux/amd64 and linux/arm64), or as the pithnowipe control build")
	}
	s.arenas = pool
	s.keys, err = newKeyring(context.Background(), cfg.Attest, cfg.Rand, cfg.KeyGrace, s.collect, s.log)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.api = s.apiHandler()
	// Started last, so a New that fails leaves no goroutine behind (only
	// Close stops it).
	go s.collector()
	// Reused buffers (encoding/json's encoder state) that were made
	// outside wipe.Do would keep request content after their next use
	// and never be erased: drop what start-up left in the pools, so every
	// such buffer from now on is made inside a request's wipe.Do. fmt's
	// printers cannot be kept so (net/http's http.Error and slog take
	// them outside any request), so request content is never formatted
	// with fmt (checkModel).
	runtime.GC()
	runtime.GC()
	return s, nil
}

// parameterSize is the model's parameter count the way Ollama shows it
// ("494M", "1.5B").
func parameterSize(m *model.Model) string {
	if m.File == nil {
		return ""
	}
	var n int64
	for _, t := range m.File.Tensors {
		n += int64(t.Elements())
	}
	if n >= 1e9 {
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	}
	return fmt.Sprintf("%dM", n/1e6)
}

// ArenaSize is the memory one request needs at the limits: what the model
// takes for a generation at MaxContext positions (KV cache, activations for
// a prompt batch, logits, sampler; model.GenerateBytes), with stop strings
// as long as a whole body; the prompt's token ids (room for three a byte of
// prompt text, after the context tokens); the context a generate answer
// returns; and a MiB for the cache-line rounding of the rest. A page of an
// arena is locked from its first touch (MLOCK_ONFAULT) and the part above
// Options.Retain goes back to the kernel after each request, so an idle
// arena costs address space, not memory; what it bounds is the memory one
// request can take, which sizing to the limits, and no more, keeps at the
// KV cache and a little.
func ArenaSize(m *model.Model, lim Limits) int {
	body := int(lim.MaxBody)
	gen := m.GenerateBytes(lim.MaxContext, nil) + 2*body + 64*(lim.MaxStops+1)
	// A summary's prompt is the messages quoted one per line inside fixed
	// instructions, tokenized into room for a token per byte: up to three
	// times the body (a '<' in JSON becomes the three bytes of '‹'; a
	// newline, two bytes in JSON, the five of " ⏎ "), plus the
	// instructions. A generation's prompt is up to three times the body
	// too (JSON decoding makes each invalid byte U+FFFD's three), inside
	// its template, and gets room for three tokens a byte (tokenizer.MaxTokens)
	// after the context's ids, which take at least two bytes of body each.
	ids := 4 * (lim.MaxContext + 9*body + 64<<10)
	// The context a generate answer returns: its ids (a buffer that may
	// have doubled once) and their JSON, 12 bytes an id, for a prompt
	// and an answer as long as they may be.
	kept := (2*4 + 12) * (lim.MaxContext + lim.MaxPredict)
	return gen + ids + kept + 1<<20
}

// Close releases the arenas.
func (s *Server) Close() error {
	close(s.done)
	return s.arenas.Close()
}

// admit counts a request into the bounded queue, or refuses it.
func (s *Server) admit() (release func(), ok bool) {
	if s.admitted.Add(1) > int64(s.cfg.Limits.Queue) {
		s.admitted.Add(-1)
		return nil, false
	}
	return func() { s.admitted.Add(-1) }, true
}

// queued runs h inside the bounded queue, or answers 503 with
// Retry-After, outside any seal: the refusal says nothing about any request.
func (s *Server) queued(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		release, ok := s.admit()
		if !ok {
			w.Header().Set("Retry-After", "2")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		defer release()
		h(w, r)
	}
}

// readBody reads a request's body, at most limit bytes, within the
// limits' BodyTimeout: a request holds its admission (queued) while it
// reads, so a client that stalls or trickles its body would otherwise
// keep the slot for good, and Queue of them would turn every other
// request away. The deadline is lifted once the body is in, so that it
// bounds the body alone: a generation may rightly take minutes. An error
// is an apiError: 413 over limit, 408 too slow, 400 otherwise.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64, read func(io.Reader) error) error {
	rc := http.NewResponseController(w)
	// Not every ResponseWriter has deadlines (httptest's); those read
	// without one.
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.Limits.BodyTimeout))
	err := read(http.MaxBytesReader(w, r.Body, limit))
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		// Else net/http would read the rest of the body before it
		// replies, with no deadline left: the stalled client again.
		w.Header().Set("Connection", "close")
	}
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return &apiError{http.StatusRequestEntityTooLarge, fmt.Errorf("request body is larger than %d bytes", limit)}
	case errors.As(err, &ne) && ne.Timeout():
		return &apiError{http.StatusRequestTimeout, fmt.Errorf("request body not received within the server's limit of %s", s.cfg.Limits.BodyTimeout)}
	}
	return err
}

// withArena runs fn with a request arena, waiting for one while ctx allows,
// bounded by the request timeout. The arena is wiped on every path.
func (s *Server) withArena(ctx context.Context, fn func(ctx context.Context, a *arena.Arena) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Limits.RequestTimeout)
	defer cancel()
	err := s.arenas.Do(ctx, func(a *arena.Arena) error { return fn(ctx, a) })
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("request took longer than the server's limit of %s: %w", s.cfg.Limits.RequestTimeout, err)
	}
	return err
}

// generate tokenizes prompt (after the context tokens, if any) and runs the
// model, all in a request arena, and hands the result to done while the
// arena still holds it. prefix holds the token ids of an earlier turn
// (Ollama's "context"). With keep, done also gets the context to continue
// from, as Ollama returns it: the prompt's token ids (prefix included) and
// the answer's, as a JSON array written in the arena, so that the ids,
// request content, leave it only for the encoder of the final answer.
func (s *Server) generate(ctx context.Context, prompt string, prefix []int, opts model.Options, keep bool,
	emit func([]byte) error, done func(model.Result, json.RawMessage) error) error {
	m := s.cfg.Model
	return s.withArena(ctx, func(ctx context.Context, a *arena.Arena) error {
		ids, err := promptIDs(a, m.Tokenizer, m.Config.Vocab, prefix, prompt)
		if err != nil {
			return err
		}
		if err := s.promptFits(len(ids), opts.NumCtx, "num_ctx"); err != nil {
			return err
		}
		var kept []int32
		if keep {
			kept = append(a.Int32s(len(ids) + opts.NumPredict + 64)[:0], ids...)
		}
		res, err := m.Generate(ctx, ids, opts, a, 0, func(p []byte) error {
			if err := emit(p); err != nil || !keep {
				return err
			}
			// The answer's text, tokenized again as Ollama does, so that
			// it is the text the client saw (stop strings cut) and a
			// control token's text that the model spelled out stays text.
			kept = growIDs(a, kept, tokenizer.MaxTokens(len(p)))
			kept = m.Tokenizer.AppendEncode(kept, string(p), false, false)
			return nil
		})
		if err != nil {
			return err
		}
		var ctxJSON json.RawMessage
		if keep {
			ctxJSON = appendIDsJSON(a.Bytes(2 + 12*len(kept))[:0], kept)
		}
		return done(res, ctxJSON)
	})
}

// promptIDs are the ids the model runs for prompt after prefix (the
// context's ids, checked against the vocabulary of vocab), in an arena
// buffer sized so that tokenizing cannot outgrow it: an append past its
// capacity would move the ids to the Go heap, out of the arena's wipe.
func promptIDs(a *arena.Arena, tok *tokenizer.Tokenizer, vocab int, prefix []int, prompt string) ([]int32, error) {
	ids := a.Int32s(len(prefix) + tokenizer.MaxTokens(len(prompt)))[:0]
	for _, t := range prefix {
		if t < 0 || t >= vocab {
			return nil, badRequest("context holds token %d, outside the vocabulary of %d", t, vocab)
		}
		ids = append(ids, int32(t))
	}
	// The rendered template is trusted text whose special tokens are
	// parsed; in raw mode the client wrote them on purpose.
	return tok.AppendEncode(ids, prompt, len(prefix) == 0, true), nil
}

// growIDs returns ids with room for n more, moved into a larger arena
// buffer if need be: an append past an arena slice's capacity would move
// the ids to the Go heap.
func growIDs(a *arena.Arena, ids []int32, n int) []int32 {
	if cap(ids)-len(ids) >= n {
		return ids
	}
	grown := a.Int32s(max(2*cap(ids), len(ids)+n))[:len(ids)]
	copy(grown, ids)
	return grown
}

// appendIDsJSON writes ids as a JSON array into dst, which has room for 12
// bytes an id (an int32 and a comma) and two.
func appendIDsJSON(dst []byte, ids []int32) []byte {
	dst = append(dst, '[')
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, int64(id), 10)
	}
	return append(dst, ']')
}

// promptFits applies the server's limits to a prompt of n tokens that is
// to run in a context of numCtx, which the error names as ctxName.
func (s *Server) promptFits(n, numCtx int, ctxName string) error {
	if n > s.cfg.Limits.MaxPromptTokens {
		return badRequest("prompt is %d tokens, above this server's limit of %d", n, s.cfg.Limits.MaxPromptTokens)
	}
	if n >= numCtx {
		return badRequest("prompt is %d tokens, which does not fit %s %d", n, ctxName, numCtx)
	}
	return nil
}

// scope runs one request's content-touching work: inside wipe.Do, and then
// the heap objects it left are collected (and so erased) at once.
func (s *Server) scope(fn func()) {
	defer s.collect()
	wipe.Do(fn)
}

// collect asks for the garbage collector to run, so that what a request
// left on the heap is erased now, not whenever the heap next grows. The
// collector goroutine runs two cycles per request (sync.Pool keeps objects
// through one); a request that ends while a cycle runs gets another one
// after it, so no request's garbage is missed.
func (s *Server) collect() {
	if arena.WipeDisabled {
		return
	}
	select {
	case s.gcReq <- struct{}{}:
	default: // a collection is already pending and will include this request's garbage
	}
}

func (s *Server) collector() {
	for {
		select {
		case <-s.done:
			return
		case <-s.gcReq:
			runtime.GC()
			runtime.GC()
		}
	}
}

// PlaintextHandler serves the Ollama API unsealed, for development and
// benchmarks on loopback. Callers must refuse it on other addresses and in
// PID 1 (see Serve).
//
// A panic is recovered inside the request's scope, as on the gateway:
// left to net/http, its value, which may hold content, and its stack
// would be logged. An answer a panic cut short is aborted, not ended:
// unlike a chunked sealed answer it has no authenticated end, and ended
// cleanly it would pass for whole (a stream without its last line, or
// JSON cut short). net/http closes the connection for
// http.ErrAbortHandler and logs nothing.
func (s *Server) PlaintextHandler() http.Handler {
	return s.queued(func(w http.ResponseWriter, r *http.Request) {
		sw := &sentWriter{ResponseWriter: w}
		s.scope(func() {
			defer s.recoverPanic(sw)
			s.api.ServeHTTP(sw, r)
		})
		s.requests.Add(1)
		if sw.cut {
			panic(http.ErrAbortHandler)
		}
	})
}

// IsLoopback reports whether a listen address is loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve serves on ln until ctx ends, then stops taking requests, lets the
// ones in flight finish (or cancels them after grace), and returns. Every
// request's memory is wiped on its own way out, so nothing is left to do
// after Serve but power off.
func (s *Server) Serve(ctx context.Context, ln net.Listener, plaintext bool, grace time.Duration) error {
	if plaintext && !IsLoopback(ln.Addr().String()) {
		return fmt.Errorf("server: the plaintext API is for loopback only, not %s", ln.Addr())
	}
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	hs := &http.Server{
		Handler:           s.Handler(plaintext),
		ReadHeaderTimeout: s.cfg.Limits.HeaderTimeout,
		IdleTimeout:       s.cfg.Limits.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		// net/http's own log lines can quote a request line; keep them out.
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError),
	}
	go s.keys.rotateEvery(base, s.cfg.KeyRotation, func(err error) { s.log.Error("key rotation failed", "err", err) })
	s.log.Info("serving", "addr", ln.Addr().String(), "platform", string(s.cfg.Attest.Platform()), "plaintext", plaintext)
	// As in New: whatever the caller printed or encoded since leaves the
	// pools before the first request can reuse it.
	runtime.GC()
	runtime.GC()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(newLimitListener(ln, s.cfg.Limits.MaxConns, s.log)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		cancelBase() // cancels generations still running
		hs.Close()
	}
	return nil
}
