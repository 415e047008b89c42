package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/chat"
)

// The inner API: what a sealed request carries, and what --plaintext serves
// unsealed on loopback. Everything here touches request content, so it runs
// inside wipe.Do (heap objects erased once unreachable) and keeps the
// model's buffers in a request arena (wiped when the request ends).

// SummarizeRequest is the body of POST /v1/summarize.
type SummarizeRequest struct {
	Messages []model.Message `json:"messages"`
	MaxWords int             `json:"max_words,omitempty"`
}

// SummarizeResponse is its answer.
type SummarizeResponse struct {
	Summary string `json:"summary"`
	// Nonce echoes the request's nonce, so a client that pipelines requests
	// can check that each answer is its own.
	Nonce string `json:"nonce,omitempty"`
	Metrics
}

// DefaultMaxWords is a summary's length when the request does not say.
const DefaultMaxWords = 120

// check applies the defaults and refuses what the summary prompt cannot
// hold (too many or too long messages, names, words), before any model work.
func (r *SummarizeRequest) check() error {
	if r.MaxWords == 0 {
		r.MaxWords = DefaultMaxWords
	}
	if r.MaxWords < 1 || r.MaxWords > model.MaxSummaryWords {
		return badRequest("max_words must be between 1 and %d", model.MaxSummaryWords)
	}
	if _, err := model.SummaryPrompt(r.Messages, r.MaxWords); err != nil {
		return badRequest("%v", err)
	}
	return nil
}

// ParseSummarizeRequest decodes and checks a /v1/summarize body.
func ParseSummarizeRequest(b []byte) (*SummarizeRequest, error) {
	var r SummarizeRequest
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, badRequest("request body is not valid JSON for /v1/summarize")
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// apiHandler routes the Ollama API and /v1/summarize.
func (s *Server) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/generate", s.handleGenerate)
	mux.HandleFunc("POST /api/chat", s.handleChat)
	mux.HandleFunc("GET /api/tags", s.handleTags)
	mux.HandleFunc("POST /api/show", s.handleShow)
	mux.HandleFunc("GET /api/version", s.handleVersion)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "pith is running")
	})
	mux.HandleFunc("POST /v1/summarize", s.handleSummarize)
	// Inside the seal too, so that a client can verify the enclave again
	// through its relay (KeyRotatedHeader).
	mux.HandleFunc("GET /v1/attestation", s.handleAttestation)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, errors.New("no such endpoint"))
	})
	return mux
}

// apiError carries an HTTP status for Ollama's error JSON.
type apiError struct {
	status int
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

func badRequest(format string, a ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Errorf(format, a...)}
}

// writeError writes Ollama's error JSON: {"error": "..."}.
func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// statusOf maps an error from a handler to the status Ollama would use.
func statusOf(err error) int {
	var ae *apiError
	var cf *model.ContextFullError
	switch {
	case errors.As(err, &ae):
		return ae.status
	case errors.Is(err, errOverloaded), errors.Is(err, arena.ErrBusy):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.As(err, &cf), errors.Is(err, arena.ErrExhausted):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	err := s.readBody(w, r, s.cfg.Limits.MaxBody, func(body io.Reader) error {
		return json.NewDecoder(body).Decode(v)
	})
	var ae *apiError
	if err != nil && !errors.As(err, &ae) {
		// The decoder's message can quote the body; say only where it failed.
		return badRequest("request body is not valid JSON for this endpoint")
	}
	return err
}

func (s *Server) checkModel(name string) error {
	if name == "" {
		return badRequest("model is required")
	}
	if !s.modelMatches(name) {
		// Not fmt: its printers are pooled, and one made outside any
		// request (http.Error, slog) is never erased, so the request's
		// name could outlive it there. Quote and concatenation allocate
		// afresh, inside wipe.Do.
		msg := "model " + strconv.Quote(clip(name, 64)) + " not found, this server has " + strconv.Quote(s.cfg.ModelName)
		return &apiError{http.StatusNotFound, errors.New(msg)}
	}
	return nil
}

// modelMatches accepts the name with or without ":latest".
func (s *Server) modelMatches(name string) bool {
	canon := func(n string) string {
		if !strings.Contains(n, ":") {
			return n + ":latest"
		}
		return n
	}
	return canon(name) == canon(s.cfg.ModelName)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// stream writes NDJSON lines, flushing each, or collects the final object.
type stream struct {
	w       http.ResponseWriter
	enabled bool
	started bool
}

func (st *stream) send(v any) error {
	if !st.started {
		st.w.Header().Set("Content-Type", "application/x-ndjson")
		st.w.WriteHeader(http.StatusOK)
		st.started = true
	}
	if err := json.NewEncoder(st.w).Encode(v); err != nil {
		return err
	}
	return flush(st.w)
}

// flush pushes what was written to the client and reports a failure, so
// that a generation stops at the piece its client could not take:
// http.Flusher cannot say that it failed, and net/http buffers writes, so
// the failure would otherwise show only when the buffer next filled or the
// connection's context was cancelled, tokens later. A writer that does not
// flush (a sealed answer collected whole) has nothing to report.
func flush(w http.ResponseWriter) error {
	err := http.NewResponseController(w).Flush()
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}

// fail reports an error: as a status before the stream starts, as an NDJSON
// {"error": ...} line after (Ollama's behaviour).
func (st *stream) fail(err error) {
	if st.started {
		st.send(map[string]string{"error": err.Error()})
		return
	}
	writeError(st.w, statusOf(err), err)
}

func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) {
	var req GenerateRequest
	st := &stream{w: w}
	if err := s.decode(w, r, &req); err != nil {
		st.fail(err)
		return
	}
	st.enabled = req.Stream == nil || *req.Stream
	if err := s.checkModel(req.Model); err != nil {
		st.fail(err)
		return
	}
	// As Ollama (and before its empty-prompt load): a raw prompt is all
	// the model reads, so a system prompt or a template would be dropped
	// without a word, and a context, ids of an earlier templated turn,
	// does not continue a prompt the client formats itself.
	if req.Raw && (req.Template != "" || req.System != "" || len(req.Context) > 0) {
		st.fail(badRequest("raw mode does not support template, system, or context"))
		return
	}
	// An empty prompt loads the model in Ollama, whatever context comes
	// with it (a context alone is not a turn); here it is always loaded.
	if req.Prompt == "" {
		st.failOrNil(st.final(doneGenerate(req.Model, model.Result{Reason: "load"}, "", nil)))
		return
	}
	switch {
	case len(req.Images) > 0:
		st.fail(badRequest("images are not supported by this model"))
		return
	case len(req.Format) > 0 && string(req.Format) != `""`:
		st.fail(badRequest("format (structured output) is not supported by pith"))
		return
	case req.Suffix != "":
		st.fail(badRequest("suffix (fill-in-the-middle) is not supported by this model"))
		return
	case req.Template != "":
		st.fail(badRequest("a custom template is not supported by pith: use raw mode"))
		return
	}
	opts, err := generationOptions(req.Options, s.cfg.Limits)
	if err != nil {
		st.fail(badRequest("%v", err))
		return
	}
	prompt := req.Prompt
	if !req.Raw {
		if s.cfg.Model.Chat == nil {
			st.fail(fmt.Errorf("model's chat template: %w (send raw prompts)", s.cfg.Model.ChatErr))
			return
		}
		var msgs []chat.Message
		if req.System != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: req.System})
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: req.Prompt})
		prompt, err = s.cfg.Model.Chat.Render(msgs, true)
		if err != nil {
			st.fail(badRequest("%v", err))
			return
		}
	}
	// Ollama returns the context to continue from for a templated prompt
	// only: a raw prompt's text is the client's own to keep.
	err = s.respond(r, st, prompt, req.Context, !req.Raw, opts, func(piece string) any {
		return GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Response: piece}
	}, func(res model.Result, text string, ctxIDs json.RawMessage) any {
		return doneGenerate(req.Model, res, text, ctxIDs)
	})
	st.failOrNil(err)
}

// respond runs a generation: each piece of text goes out as its own NDJSON
// object (piece makes it) when streaming, or is collected for the final
// answer. done makes the final object from the result, the collected text
// and, with keep, the context (see generate); it is sent while the request
// arena still holds the context.
func (s *Server) respond(r *http.Request, st *stream, prompt string, prefix []int, keep bool, opts model.Options,
	piece func(string) any, done func(model.Result, string, json.RawMessage) any) error {
	var out strings.Builder
	return s.generate(r.Context(), prompt, prefix, opts, keep, func(p []byte) error {
		if !st.enabled {
			out.Write(p)
			return nil
		}
		return st.send(piece(string(p)))
	}, func(res model.Result, ctxIDs json.RawMessage) error {
		return st.final(done(res, out.String(), ctxIDs))
	})
}

// final sends the last object: the whole JSON answer when not streaming,
// else the closing NDJSON line.
func (st *stream) final(v any) error {
	if !st.enabled {
		st.w.Header().Set("Content-Type", "application/json; charset=utf-8")
		return json.NewEncoder(st.w).Encode(v)
	}
	return st.send(v)
}

func doneGenerate(name string, res model.Result, text string, ctxIDs json.RawMessage) GenerateResponse {
	return GenerateResponse{
		Model: name, CreatedAt: time.Now().UTC(), Response: text, Done: true, DoneReason: string(res.Reason),
		Context: ctxIDs, Metrics: metrics(res),
	}
}

func metrics(res model.Result) Metrics {
	return Metrics{
		TotalDuration:      res.PromptTime + res.GenerateTime,
		PromptEvalCount:    res.PromptTokens,
		PromptEvalDuration: res.PromptTime,
		EvalCount:          res.GeneratedTokens,
		EvalDuration:       res.GenerateTime,
	}
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req ChatRequest
	st := &stream{w: w}
	if err := s.decode(w, r, &req); err != nil {
		st.fail(err)
		return
	}
	st.enabled = req.Stream == nil || *req.Stream
	if err := s.checkModel(req.Model); err != nil {
		st.fail(err)
		return
	}
	switch {
	case len(req.Tools) > 0:
		st.fail(badRequest("tools are not supported by pith"))
		return
	case len(req.Format) > 0 && string(req.Format) != `""`:
		st.fail(badRequest("format (structured output) is not supported by pith"))
		return
	case s.cfg.Model.Chat == nil:
		st.fail(fmt.Errorf("model's chat template: %w", s.cfg.Model.ChatErr))
		return
	}
	if len(req.Messages) == 0 {
		// Ollama answers an empty chat by loading the model.
		st.failOrNil(st.final(doneChat(req.Model, model.Result{Reason: "load"}, "")))
		return
	}
	msgs := make([]chat.Message, 0, len(req.Messages))
	for _, m := range req.Messages {
		m.Role = strings.ToLower(m.Role) // as ollama's Message decoder does
		switch m.Role {
		case "system", "user", "assistant":
		default:
			st.fail(badRequest("message role must be system, user or assistant"))
			return
		}
		if len(m.Images) > 0 || len(m.ToolCalls) > 0 {
			st.fail(badRequest("images and tool calls are not supported by pith"))
			return
		}
		msgs = append(msgs, chat.Message{Role: m.Role, Content: m.Content})
	}
	opts, err := generationOptions(req.Options, s.cfg.Limits)
	if err != nil {
		st.fail(badRequest("%v", err))
		return
	}
	prompt, err := s.cfg.Model.Chat.Render(msgs, true)
	if err != nil {
		st.fail(badRequest("%v", err))
		return
	}
	err = s.respond(r, st, prompt, nil, false, opts, func(piece string) any {
		return ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: Message{Role: "assistant", Content: piece}}
	}, func(res model.Result, text string, _ json.RawMessage) any {
		return doneChat(req.Model, res, text)
	})
	st.failOrNil(err)
}

func doneChat(name string, res model.Result, text string) ChatResponse {
	return ChatResponse{
		Model: name, CreatedAt: time.Now().UTC(), Done: true, DoneReason: string(res.Reason),
		Message: Message{Role: "assistant", Content: text},
		Metrics: metrics(res),
	}
}

// failOrNil is for the end of a handler: a nil error writes nothing.
func (st *stream) failOrNil(err error) {
	if err != nil {
		st.fail(err)
	}
}

func (s *Server) handleSummarize(w http.ResponseWriter, r *http.Request) {
	var req SummarizeRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	if err := req.check(); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	var out strings.Builder
	var res model.Result
	err := s.withArena(r.Context(), func(ctx context.Context, a *arena.Arena) error {
		prompt, opts, err := s.cfg.Model.SummaryTokens(req.Messages, req.MaxWords, a)
		if err != nil {
			return err
		}
		// The server's limits, as for any prompt (generate).
		opts.NumCtx = min(opts.NumCtx, s.cfg.Limits.MaxContext)
		if err := s.promptFits(len(prompt), opts.NumCtx, "this server's context of"); err != nil {
			return err
		}
		res, err = s.cfg.Model.Generate(ctx, prompt, opts, a, 0, func(p []byte) error {
			out.Write(p)
			return nil
		})
		return err
	})
	if err != nil {
		var cf *model.ContextFullError
		if errors.As(err, &cf) {
			err = &apiError{http.StatusBadRequest, fmt.Errorf("the conversation is too long for this model: %w", err)}
		} else if !errors.Is(err, errOverloaded) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && statusOf(err) == http.StatusInternalServerError {
			// Summarize's own validation (message counts, sizes) is the client's fault.
			err = &apiError{http.StatusBadRequest, err}
		}
		writeError(w, statusOf(err), err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(SummarizeResponse{Summary: strings.TrimSpace(out.String()), Nonce: r.Header.Get(NonceHeader), Metrics: metrics(res)})
}

func (s *Server) details() ModelDetails {
	c := s.cfg.Model.Config
	family := c.Arch
	return ModelDetails{
		Format:            "gguf",
		Family:            family,
		Families:          []string{family},
		ParameterSize:     s.cfg.ParameterSize,
		QuantizationLevel: s.cfg.Quantization,
	}
}

func (s *Server) handleTags(w http.ResponseWriter, r *http.Request) {
	resp := ListResponse{Models: []ListModelResponse{{
		Name: s.cfg.ModelName, Model: s.cfg.ModelName, ModifiedAt: s.cfg.ModelTime,
		Size: s.cfg.ModelSize, Digest: s.cfg.ModelDigest, Details: s.details(),
	}}}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(resp)
}

func (s *Server) handleShow(w http.ResponseWriter, r *http.Request) {
	var req ShowRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	name := req.Model
	if name == "" {
		// Older clients still send "name".
		name = req.Name
	}
	if err := s.checkModel(name); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	c := s.cfg.Model.Config
	tmpl, _ := s.cfg.Model.File.String("tokenizer.chat_template")
	resp := ShowResponse{
		Template:   tmpl,
		Details:    s.details(),
		Parameters: fmt.Sprintf("num_ctx %d", s.cfg.Limits.DefaultContext),
		ModelInfo: map[string]any{
			"general.architecture":                       c.Arch,
			c.Arch + ".context_length":                   c.ContextLen,
			c.Arch + ".embedding_length":                 c.Embd,
			c.Arch + ".block_count":                      c.Layers,
			c.Arch + ".attention.head_count":             c.Heads,
			c.Arch + ".attention.head_count_kv":          c.KVHeads,
			c.Arch + ".feed_forward_length":              c.FFN,
			c.Arch + ".rope.freq_base":                   c.RopeBase,
			c.Arch + ".attention.layer_norm_rms_epsilon": c.NormEps,
			"tokenizer.ggml.vocab_size":                  c.Vocab,
		},
		Capabilities: []string{CapabilityCompletion},
		ModifiedAt:   s.cfg.ModelTime,
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(resp)
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]string{"version": s.cfg.Version})
}
