package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/chat"
	"github.com/pith-project/pith/model/tokenizer"
)

// The final object of a templated /api/generate carries Ollama's context:
// the ids of the prompt as the model ran it (an earlier context first)
// and of the answer. The real Ollama client sends it back and the next
// turn continues from it, streamed or not; a raw prompt gets none.
func TestGenerateContext(t *testing.T) {
	s := newTestServer(t, Limits{})
	c := ollamaClient(t, s)
	m := s.cfg.Model
	promptIDs := func(prompt string, first bool) []int {
		text, err := m.Chat.Render([]chat.Message{{Role: "user", Content: prompt}}, true)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int
		for _, id := range m.Tokenizer.Encode(text, first, true) {
			ids = append(ids, int(id))
		}
		return ids
	}
	generate := func(req *api.GenerateRequest) (final api.GenerateResponse, text string) {
		t.Helper()
		err := c.Generate(context.Background(), req, func(r api.GenerateResponse) error {
			text += r.Response
			if r.Done {
				final = r
			} else if r.Context != nil {
				t.Errorf("a piece before the end carries a context")
			}
			return nil
		})
		if err != nil || !final.Done {
			t.Fatalf("generate %q: %v (final %+v)", req.Prompt, err, final)
		}
		return final, text
	}
	for _, streaming := range []bool{true, false} {
		opts := map[string]any{"num_predict": 12, "temperature": 0, "seed": 1}
		first, text1 := generate(&api.GenerateRequest{Model: "tiny", Prompt: "hello there", Stream: &streaming, Options: opts})
		want := promptIDs("hello there", true)
		checkContext(t, m, first.Context, want, text1)

		second, text2 := generate(&api.GenerateRequest{Model: "tiny", Prompt: "and then?", Context: first.Context, Stream: &streaming, Options: opts})
		want = append(slices.Clone(first.Context), promptIDs("and then?", false)...)
		if second.PromptEvalCount != len(want) {
			t.Errorf("stream %v: the second turn ran %d prompt tokens, want %d (the first turn's context and its own)", streaming, second.PromptEvalCount, len(want))
		}
		checkContext(t, m, second.Context, want, text2)

		// As Ollama: an empty prompt loads the model, context or not.
		load, text3 := generate(&api.GenerateRequest{Model: "tiny", Prompt: "", Context: second.Context, Stream: &streaming, Options: opts})
		if load.DoneReason != "load" || text3 != "" || load.PromptEvalCount != 0 || load.Context != nil {
			t.Errorf("stream %v: an empty prompt with a context: done_reason %q, %d prompt tokens, %d bytes of answer, %d ids of context; want Ollama's load and nothing else", streaming, load.DoneReason, load.PromptEvalCount, len(text3), len(load.Context))
		}

		raw, _ := generate(&api.GenerateRequest{Model: "tiny", Prompt: "hello there", Raw: true, Stream: &streaming, Options: opts})
		if raw.Context != nil {
			t.Errorf("stream %v: a raw generation returned a context of %d ids", streaming, len(raw.Context))
		}
	}
}

// checkContext holds a returned context to the prompt's ids followed by
// ids that spell the answer.
func checkContext(t *testing.T, m *model.Model, got, prompt []int, answer string) {
	t.Helper()
	if len(got) <= len(prompt) || !slices.Equal(got[:len(prompt)], prompt) {
		t.Fatalf("context %v does not start with the prompt's ids %v and go on", got, prompt)
	}
	var out []int32
	for _, id := range got[len(prompt):] {
		out = append(out, int32(id))
	}
	if dec := m.Tokenizer.Decode(out, false); dec != answer {
		t.Fatalf("the context's answer ids spell %q, the answer was %q", dec, answer)
	}
}

// The context's JSON is written in the request arena and wiped with it:
// once the request is over, the bytes its final object was encoded from
// are zero.
func TestGenerateContextInArena(t *testing.T) {
	s := newTestServer(t, Limits{})
	opts := model.Options{Temperature: 0, TopP: 1, RepeatPenalty: 1, NumPredict: 12, NumCtx: 256, Seed: 1}
	var held json.RawMessage
	var ids []int
	err := s.generate(context.Background(), "hello there", []int{1, 2, 3}, opts, true, func([]byte) error { return nil },
		func(_ model.Result, ctxIDs json.RawMessage) error {
			held = ctxIDs
			return json.Unmarshal(ctxIDs, &ids)
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 4 || !slices.Equal(ids[:3], []int{1, 2, 3}) {
		t.Fatalf("context %v does not start with the prefix", ids)
	}
	for i, b := range held {
		if b != 0 {
			t.Fatalf("byte %d of the context's JSON is %q after the request", i, b)
		}
	}
}

// growIDs keeps the answer's ids in the arena: a buffer without room is
// replaced by a larger one from the arena, holding the same ids, which the
// arena's wipe then zeroes; one with room is kept as it is.
func TestGrowIDsStaysInArena(t *testing.T) {
	a, err := arena.New(1<<16, arena.Options{AllowUnlocked: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, tc := range []struct {
		cap, len, need int
		moves          bool
	}{
		{8, 2, 6, false},
		{8, 2, 7, true},
		{8, 8, 1, true},
		{4, 3, 100, true},
	} {
		ids := a.Int32s(tc.cap)[:tc.len]
		for i := range ids {
			ids[i] = int32(i + 1)
		}
		used := a.Used()
		got := growIDs(a, ids, tc.need)
		if moved := &got[:1][0] != &ids[:1][0]; moved != tc.moves {
			t.Errorf("%+v: moved %v", tc, moved)
		}
		if !slices.Equal(got, ids) || cap(got)-len(got) < tc.need {
			t.Errorf("%+v: grew to %v (cap %d)", tc, got, cap(got))
		}
		if tc.moves && a.Used() < used+4*(tc.len+tc.need) {
			t.Errorf("%+v: the new buffer is not from the arena (%d bytes used, %d before)", tc, a.Used(), used)
		}
		got = append(got, 99)
		a.Wipe()
		if slices.ContainsFunc(got, func(id int32) bool { return id != 0 }) {
			t.Errorf("%+v: the ids are not wiped with the arena: %v", tc, got)
		}
	}
}

// nfcTokenizer is the test model's vocabulary with NFC normalisation on,
// as a tokenizer built from Qwen2's tokenizer.json has it.
func nfcTokenizer(t *testing.T, m *model.Model) *tokenizer.Tokenizer {
	t.Helper()
	f := m.File
	cfg := tokenizer.Config{Model: "gpt2", BOS: -1, EOS: -1, EOT: -1, NFC: true}
	var err error
	cfg.Pre, _ = f.String("tokenizer.ggml.pre")
	if cfg.Tokens, err = f.Strings("tokenizer.ggml.tokens"); err != nil {
		t.Fatal(err)
	}
	if cfg.Types, err = f.Int32s("tokenizer.ggml.token_type"); err != nil {
		t.Fatal(err)
	}
	if cfg.Merges, err = f.Strings("tokenizer.ggml.merges"); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A prompt's ids stay in the arena however many tokens its text makes,
// also when NFC makes the text longer than it came (U+1D160 triples, a
// run of U+0344 doubles and gets a U+034F every 30 marks), so that its
// tokens outnumber its bytes: an arena buffer sized by the bytes would
// overflow, and the append move the ids to the Go heap.
func TestPromptIDsStayInArena(t *testing.T) {
	m := testModel(t)
	a, err := arena.New(1<<20, arena.Options{AllowUnlocked: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	musical := strings.Repeat("\U0001D160", 40)
	for _, tc := range []struct {
		name    string
		tok     *tokenizer.Tokenizer
		prefix  []int
		prompt  string
		outgrow bool // more ids than the prompt has bytes
	}{
		{"ascii", m.Tokenizer, nil, "<|im_start|>user\nhello there<|im_end|>\n", false},
		{"ascii after a context", m.Tokenizer, []int{1, 2, 3}, "and then?", false},
		{"NFC triples", nfcTokenizer(t, m), nil, musical, true},
		{"NFC triples after a context", nfcTokenizer(t, m), []int{1, 2, 3}, "<|im_start|>user\n" + musical + "<|im_end|>", true},
		{"NFC doubles a run of marks", nfcTokenizer(t, m), nil, "a" + strings.Repeat("\u0344", 100), true},
	} {
		used := a.Used()
		ids, err := promptIDs(a, tc.tok, m.Config.Vocab, tc.prefix, tc.prompt)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := tc.tok.Encode(tc.prompt, len(tc.prefix) == 0, true)
		if !slices.Equal(ids[:len(tc.prefix)], toInt32(tc.prefix)) || !slices.Equal(ids[len(tc.prefix):], want) {
			t.Fatalf("%s: ids %v, want the prefix %v and %v", tc.name, ids, tc.prefix, want)
		}
		if got := len(ids) - len(tc.prefix); (got > len(tc.prompt)+8) != tc.outgrow {
			t.Fatalf("%s: %d ids for %d bytes: the case does not test what it says", tc.name, got, len(tc.prompt))
		}
		if a.Used() < used+4*len(ids) {
			t.Errorf("%s: the ids are not in the arena (%d bytes used, %d before, %d ids)", tc.name, a.Used(), used, len(ids))
		}
		ids = ids[:cap(ids)]
		a.Wipe()
		if slices.ContainsFunc(ids, func(id int32) bool { return id != 0 }) {
			t.Errorf("%s: the ids are not wiped with the arena: they moved to the heap", tc.name)
		}
	}
}

// The arena holds the ids buffer of the longest prompt a body can carry: a
// raw prompt of invalid bytes, each of which JSON decoding makes U+FFFD's
// three, so that the prompt is three times the body and its buffer nine
// ids a byte of body. The request is refused for its tokens, as any
// prompt above the limit is, not for the arena's size.
func TestLongestPromptFitsArena(t *testing.T) {
	s := newTestServer(t, Limits{})
	head := `{"model":"tiny","raw":true,"prompt":"`
	body := append([]byte(head), bytes.Repeat([]byte{0xff}, int(s.cfg.Limits.MaxBody)-len(head)-2)...)
	body = append(body, `"}`...)
	rec := httptest.NewRecorder()
	s.PlaintextHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/api/generate", bytes.NewReader(body)))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "above this server's limit") {
		t.Fatalf("a prompt of %d invalid bytes: %d %s", len(body)-len(head)-2, rec.Code, rec.Body)
	}
}

func toInt32(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

// A summary's prompt ids stay in the arena too when the tokenizer's
// normalisation makes the conversation longer than its bytes.
func TestSummaryIDsStayInArena(t *testing.T) {
	m := *testModel(t)
	m.Tokenizer = nfcTokenizer(t, &m)
	a, err := arena.New(1<<20, arena.Options{AllowUnlocked: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	text := strings.Repeat("\U0001D160", 200)
	ids, _, err := m.SummaryTokens([]model.Message{{From: "Ann", Text: text}}, 10, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) <= 3*len(text) {
		t.Fatalf("%d ids for a text of %d bytes: the case does not outgrow the old room", len(ids), len(text))
	}
	ids = ids[:cap(ids)]
	a.Wipe()
	if slices.ContainsFunc(ids, func(id int32) bool { return id != 0 }) {
		t.Error("the summary's ids are not wiped with the arena: they moved to the heap")
	}
}
