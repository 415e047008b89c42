package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

var errEmptyInput = errors.New("model: no tokens to process")

// ContextFullError says a request needs more positions than its context.
type ContextFullError struct{ Context, Want int }

func (e *ContextFullError) Error() string {
	return fmt.Sprintf("model: %d tokens do not fit in a context of %d (raise num_ctx)", e.Want, e.Context)
}

// TokenError is a token id outside the vocabulary.
type TokenError struct {
	Token int32
	Vocab int
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("model: token id %d is outside the vocabulary of %d", e.Token, e.Vocab)
}

// DoneReason says why generation stopped, in ollama's words.
type DoneReason string

const (
	DoneStop   DoneReason = "stop"   // an end-of-generation token or a stop string
	DoneLength DoneReason = "length" // num_predict tokens, or the context is full
)

// Result describes a finished generation.
type Result struct {
	Reason          DoneReason
	StopDetail      string // the end token's piece or the stop string that ended it
	PromptTokens    int
	GeneratedTokens int
	PromptTime      time.Duration // prefill, up to the first sampled token
	GenerateTime    time.Duration // decode of the rest
}

// Generate runs the prompt and then samples until a stop condition. Output
// text is passed to emit as soon as it is complete UTF-8 and cannot be the
// start of a stop string; the slice is only valid during the call. emit
// returning an error stops generation with that error. Every buffer comes
// from alloc; seed is used when opts.Seed is -1.
func (m *Model) Generate(ctx context.Context, prompt []int32, opts Options, alloc Allocator, seed uint64, emit func([]byte) error) (res Result, err error) {
	if err := opts.Validate(); err != nil {
		return res, err
	}
	if len(prompt) == 0 {
		return res, errEmptyInput
	}
	numCtx := opts.NumCtx
	if len(prompt) >= numCtx {
		return res, &ContextFullError{Context: numCtx, Want: len(prompt) + 1}
	}
	st := m.NewState(alloc, numCtx, min(len(prompt), GenerateBatch))
	sampler := NewSampler(opts, m.Config.Vocab, alloc, seed)
	dec := m.Tokenizer.NewStreamDecoder(alloc.Bytes(1024))
	stops := newStopMatcher(opts.Stop, alloc)

	start := time.Now()
	var logits []float32
	logits, err = st.ForwardContext(ctx, prompt)
	if err != nil {
		return res, err
	}
	res.PromptTokens = len(prompt)
	res.PromptTime = time.Since(start)
	start = time.Now()
	defer func() { res.GenerateTime = time.Since(start) }()

	finish := func(reason DoneReason, detail string) (Result, error) {
		res.Reason, res.StopDetail = reason, detail
		if _, err := stops.push(dec.Flush(), emit); err != nil {
			return res, err
		}
		return res, stops.flush(emit)
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if opts.NumPredict >= 0 && res.GeneratedTokens >= opts.NumPredict {
			return finish(DoneLength, "")
		}
		tok := sampler.Sample(logits, st.History())
		if m.Tokenizer.IsEndOfGeneration(tok) {
			return finish(DoneStop, m.Tokenizer.Piece(tok))
		}
		res.GeneratedTokens++
		if hit, err := stops.push(dec.Add(tok), emit); err != nil || hit != "" {
			res.Reason, res.StopDetail = DoneStop, hit
			return res, err
		}
		if st.Pos() >= numCtx {
			return finish(DoneLength, "")
		}
		if logits, err = st.ForwardContext(ctx, []int32{tok}); err != nil {
			return res, err
		}
	}
}

// GenerateBatch is the most prompt tokens Generate puts through the model
// in one step: larger batches read the weights fewer times but need
// activations for every token of the batch at once.
const GenerateBatch = 256

// GenerateBytes is the memory Generate takes from its allocator for a
// context of numCtx positions and the given stop strings (rounded as
// StateBytes rounds), so a request arena of this size (plus what the caller
// allocates itself) never runs out.
func (m *Model) GenerateBytes(numCtx int, stops []string) int {
	n := m.StateBytes(numCtx, GenerateBatch)
	n += 2 * line(4*m.Config.Vocab) // the sampler
	n += line(1024)                 // the stream decoder
	longest := 0
	for _, s := range stops {
		n += line(len(s))
		longest = max(longest, len(s))
	}
	return n + line(longest+2048)
}

// stopMatcher holds back output that might be the start of a stop string,
// so a stop string is never shown, even in part. Its buffer is the
// caller's.
type stopMatcher struct {
	stops   [][]byte
	pending []byte
}

func newStopMatcher(stops []string, alloc Allocator) *stopMatcher {
	s := &stopMatcher{}
	longest := 0
	for _, stop := range stops {
		b := alloc.Bytes(len(stop))
		copy(b, stop)
		s.stops = append(s.stops, b)
		longest = max(longest, len(stop))
	}
	s.pending = alloc.Bytes(longest + 2048)[:0]
	return s
}

// push adds text; it returns the stop string that matched, if any.
func (s *stopMatcher) push(text []byte, emit func([]byte) error) (string, error) {
	if len(s.stops) == 0 {
		if len(text) == 0 {
			return "", nil
		}
		return "", emit(text)
	}
	if len(s.pending)+len(text) > cap(s.pending) {
		// Cannot happen with real pieces (< 1 KiB); emit what is safe.
		if err := s.flush(emit); err != nil {
			return "", err
		}
	}
	s.pending = append(s.pending, text...)
	for _, stop := range s.stops {
		if i := bytes.Index(s.pending, stop); i >= 0 {
			var err error
			if i > 0 {
				err = emit(s.pending[:i])
			}
			clear(s.pending[:cap(s.pending)])
			s.pending = s.pending[:0]
			return string(stop), err
		}
	}
	// Keep the longest suffix that is a prefix of some stop string.
	keep := 0
	for _, stop := range s.stops {
		for k := min(len(stop)-1, len(s.pending)); k > keep; k-- {
			if bytes.HasSuffix(s.pending, stop[:k]) {
				keep = k
				break
			}
		}
	}
	out := len(s.pending) - keep
	if out == 0 {
		return "", nil
	}
	err := emit(s.pending[:out])
	n := copy(s.pending, s.pending[out:])
	clear(s.pending[n:cap(s.pending)])
	s.pending = s.pending[:n]
	return "", err
}

func (s *stopMatcher) flush(emit func([]byte) error) error {
	if len(s.pending) == 0 {
		return nil
	}
	err := emit(s.pending)
	clear(s.pending)
	s.pending = s.pending[:0]
	return err
}
