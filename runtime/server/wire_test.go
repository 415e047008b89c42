package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	ollamamodel "github.com/ollama/ollama/types/model"
)

// TestWireCompat holds wire.go's types to ollama's own (the module stays a
// test dependency for this and for the real clients' tests): what an
// ollama client marshals decodes into ours with every field pith reads,
// what pith marshals decodes into ollama's types with every field, and
// for the same values both marshal to the same JSON object.
func TestWireCompat(t *testing.T) {
	yes := true
	when := time.Date(2026, 11, 25, 19, 0, 0, 123456789, time.UTC)
	opts := map[string]any{"num_predict": float64(8), "temperature": 0.5, "stop": []any{"\n"}, "seed": float64(42)}

	t.Run("generate request", func(t *testing.T) {
		theirs := api.GenerateRequest{
			Model: "tiny", Prompt: "hello", Suffix: "s", System: "be brief", Template: "{{.Prompt}}",
			Context: []int{1, 2, 3}, Stream: &yes, Raw: true, Format: json.RawMessage(`"json"`),
			Images: []api.ImageData{[]byte("png")}, Options: opts,
			// Fields pith ignores, set so that their presence is seen not to hurt.
			KeepAlive: &api.Duration{Duration: time.Minute}, Think: &api.ThinkValue{Value: "high"},
			Truncate: &yes, Shift: &yes, Logprobs: true, TopLogprobs: 2,
		}
		var ours GenerateRequest
		roundTrip(t, theirs, &ours)
		if ours.Model != "tiny" || ours.Prompt != "hello" || ours.Suffix != "s" || ours.System != "be brief" ||
			ours.Template != "{{.Prompt}}" || !reflect.DeepEqual(ours.Context, theirs.Context) || ours.Stream == nil || !*ours.Stream ||
			!ours.Raw || string(ours.Format) != `"json"` || len(ours.Images) != 1 || !reflect.DeepEqual(ours.Options, opts) {
			t.Fatalf("decoded %+v", ours)
		}
		// The other way: what pith's type says, ollama's reads the same.
		var back api.GenerateRequest
		roundTrip(t, ours, &back)
		back.KeepAlive, back.Think, back.Truncate, back.Shift, back.Logprobs, back.TopLogprobs = theirs.KeepAlive, theirs.Think, theirs.Truncate, theirs.Shift, theirs.Logprobs, theirs.TopLogprobs
		if !reflect.DeepEqual(back, theirs) {
			t.Fatalf("ollama reads back\n%+v\nwant\n%+v", back, theirs)
		}
		// A minimal request: stream absent means streaming, no options.
		var min GenerateRequest
		roundTrip(t, api.GenerateRequest{Model: "m"}, &min)
		if min.Stream != nil || min.Options != nil || min.Format != nil || min.Images != nil {
			t.Fatalf("minimal request decoded as %+v", min)
		}
	})

	t.Run("chat request", func(t *testing.T) {
		no := false
		theirs := api.ChatRequest{
			Model: "tiny", Stream: &no, Format: json.RawMessage(`{"type":"object"}`), Options: opts,
			Messages: []api.Message{
				{Role: "system", Content: "be brief"},
				{Role: "user", Content: "hi", Images: []api.ImageData{[]byte("x")}},
				{Role: "assistant", Content: "hello", Thinking: "hmm", ToolCalls: []api.ToolCall{{Function: api.ToolCallFunction{Name: "f"}}}},
			},
			Tools:     api.Tools{{Type: "function", Function: api.ToolFunction{Name: "f"}}},
			KeepAlive: &api.Duration{Duration: -1}, Think: &api.ThinkValue{Value: true},
		}
		var ours ChatRequest
		roundTrip(t, theirs, &ours)
		if ours.Model != "tiny" || ours.Stream == nil || *ours.Stream || string(ours.Format) != `{"type":"object"}` ||
			len(ours.Tools) != 1 || !reflect.DeepEqual(ours.Options, opts) || len(ours.Messages) != 3 {
			t.Fatalf("decoded %+v", ours)
		}
		for i, m := range ours.Messages {
			tm := theirs.Messages[i]
			if m.Role != tm.Role || m.Content != tm.Content || len(m.Images) != len(tm.Images) || len(m.ToolCalls) != len(tm.ToolCalls) {
				t.Errorf("message %d decoded as %+v from %+v", i, m, tm)
			}
		}
		var back api.ChatRequest
		roundTrip(t, ours, &back)
		if back.Model != theirs.Model || *back.Stream || len(back.Tools) != 1 || back.Tools[0].Function.Name != "f" ||
			!reflect.DeepEqual(back.Options, opts) || len(back.Messages) != 3 || back.Messages[1].Content != "hi" ||
			string(back.Messages[1].Images[0]) != "x" || back.Messages[2].ToolCalls[0].Function.Name != "f" {
			t.Fatalf("ollama reads back %+v", back)
		}
	})

	t.Run("show request", func(t *testing.T) {
		var ours ShowRequest
		roundTrip(t, api.ShowRequest{Model: "tiny", System: "x", Verbose: true}, &ours)
		if ours.Model != "tiny" || ours.Name != "" {
			t.Fatalf("decoded %+v", ours)
		}
		roundTrip(t, api.ShowRequest{Name: "old"}, &ours) //lint:ignore SA1019 older clients send it
		if ours.Name != "old" {
			t.Fatalf("decoded %+v", ours)
		}
	})

	// The answers: the same values give the same JSON object, and
	// ollama's types read every field back.
	m := Metrics{TotalDuration: 3 * time.Second, PromptEvalCount: 5, PromptEvalDuration: time.Second, EvalCount: 7, EvalDuration: 2 * time.Second}
	am := api.Metrics{TotalDuration: 3 * time.Second, PromptEvalCount: 5, PromptEvalDuration: time.Second, EvalCount: 7, EvalDuration: 2 * time.Second}
	details := ModelDetails{Format: "gguf", Family: "qwen2", Families: []string{"qwen2"}, ParameterSize: "494M", QuantizationLevel: "Q4_0"}
	adetails := api.ModelDetails{Format: "gguf", Family: "qwen2", Families: []string{"qwen2"}, ParameterSize: "494M", QuantizationLevel: "Q4_0"}
	info := map[string]any{"general.architecture": "qwen2", "qwen2.context_length": float64(32768)}
	responses := []struct {
		name          string
		ours, theirs  any
		decodedTheirs any // a new value of theirs' type to decode ours into
	}{
		{"generate piece", GenerateResponse{Model: "tiny", CreatedAt: when, Response: "he"},
			api.GenerateResponse{Model: "tiny", CreatedAt: when, Response: "he"}, &api.GenerateResponse{}},
		{"generate done", GenerateResponse{Model: "tiny", CreatedAt: when, Response: "hello", Done: true, DoneReason: "stop", Context: json.RawMessage("[4,5]"), Metrics: m},
			api.GenerateResponse{Model: "tiny", CreatedAt: when, Response: "hello", Done: true, DoneReason: "stop", Context: []int{4, 5}, Metrics: am}, &api.GenerateResponse{}},
		{"chat piece", ChatResponse{Model: "tiny", CreatedAt: when, Message: Message{Role: "assistant", Content: "he"}},
			api.ChatResponse{Model: "tiny", CreatedAt: when, Message: api.Message{Role: "assistant", Content: "he"}}, &api.ChatResponse{}},
		{"chat done", ChatResponse{Model: "tiny", CreatedAt: when, Message: Message{Role: "assistant", Content: "hello"}, Done: true, DoneReason: "length", Metrics: m},
			api.ChatResponse{Model: "tiny", CreatedAt: when, Message: api.Message{Role: "assistant", Content: "hello"}, Done: true, DoneReason: "length", Metrics: am}, &api.ChatResponse{}},
		{"tags", ListResponse{Models: []ListModelResponse{{Name: "tiny:latest", Model: "tiny:latest", ModifiedAt: when, Size: 1234, Digest: "sha256:ab", Details: details}}},
			api.ListResponse{Models: []api.ListModelResponse{{Name: "tiny:latest", Model: "tiny:latest", ModifiedAt: when, Size: 1234, Digest: "sha256:ab", Details: adetails}}}, &api.ListResponse{}},
		{"show", ShowResponse{Parameters: "num_ctx 2048", Template: "{{ .Prompt }}", Details: details, ModelInfo: info, Capabilities: []string{CapabilityCompletion}, ModifiedAt: when},
			api.ShowResponse{Parameters: "num_ctx 2048", Template: "{{ .Prompt }}", Details: adetails, ModelInfo: info, Capabilities: []ollamamodel.Capability{ollamamodel.CapabilityCompletion}, ModifiedAt: when}, &api.ShowResponse{}},
		{"summarize metrics", SummarizeResponse{Summary: "s", Metrics: m},
			struct {
				Summary string `json:"summary"`
				api.Metrics
			}{"s", am}, &struct {
				Summary string `json:"summary"`
				api.Metrics
			}{}},
	}
	for _, tc := range responses {
		t.Run(tc.name, func(t *testing.T) {
			ob, err := json.Marshal(tc.ours)
			if err != nil {
				t.Fatal(err)
			}
			tb, err := json.Marshal(tc.theirs)
			if err != nil {
				t.Fatal(err)
			}
			var om, tm map[string]any
			if err := json.Unmarshal(ob, &om); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(tb, &tm); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(om, tm) {
				t.Fatalf("pith sends\n%s\nollama sends\n%s", ob, tb)
			}
			if err := json.Unmarshal(ob, tc.decodedTheirs); err != nil {
				t.Fatal(err)
			}
			if got := reflect.ValueOf(tc.decodedTheirs).Elem().Interface(); !reflect.DeepEqual(got, tc.theirs) {
				t.Fatalf("ollama decodes pith's answer as\n%+v\nwant\n%+v", got, tc.theirs)
			}
		})
	}
}

// roundTrip marshals from and decodes it into to.
func roundTrip(t *testing.T, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(to); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// Raw JSON that clients other than ollama's send: the role's case does
// not matter (ollama lower-cases it), an empty tools or images list is no
// request for tools or images, and a non-empty one is refused.
func TestChatWireEdges(t *testing.T) {
	s := newTestServer(t, Limits{})
	hs := httptest.NewServer(s.PlaintextHandler())
	defer hs.Close()
	tests := []struct {
		body   string
		status int
	}{
		{`{"model":"tiny","stream":false,"options":{"num_predict":2},"messages":[{"role":"User","content":"hi"}]}`, 200},
		{`{"model":"tiny","stream":false,"options":{"num_predict":2},"tools":[],"messages":[{"role":"user","content":"hi","images":[]}]}`, 200},
		{`{"model":"tiny","stream":false,"tools":[{"type":"function"}],"messages":[{"role":"user","content":"hi"}]}`, 400},
		{`{"model":"tiny","stream":false,"messages":[{"role":"user","content":"hi","images":["aGk="]}]}`, 400},
		{`{"model":"tiny","stream":false,"messages":[{"role":"tool","content":"hi"}]}`, 400},
		{`{"model":"tiny","messages":[{"role":"user","content":7}]}`, 400},
	}
	for _, tc := range tests {
		resp, err := http.Post(hs.URL+"/api/chat", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.body, resp.StatusCode, b, tc.status)
			continue
		}
		if tc.status == 200 {
			var r api.ChatResponse
			if err := json.Unmarshal(b, &r); err != nil || !r.Done || r.Message.Role != "assistant" {
				t.Errorf("%s: answer %s (%v)", tc.body, b, err)
			}
		}
	}
}
