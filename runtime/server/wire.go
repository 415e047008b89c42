package server

import (
	"encoding/json"
	"time"
)

// The Ollama wire types the server speaks, with Ollama's JSON names and
// meanings (github.com/ollama/ollama/api, docs/api.md). They are written
// here rather than imported because ollama's api package pulls its client,
// and with it SSH keys (golang.org/x/crypto/ssh), YAML and half a dozen
// more modules, into pith-init, the image's whole trusted userland.
// TestWireCompat in wire_test.go holds them to ollama's own types, field
// by field, in both directions; the real clients' end-to-end tests
// (internal/e2e) talk to them.
//
// Request fields that pith does not act on (keep_alive, think, truncate,
// shift, logprobs, ...) are not declared: encoding/json skips them, as
// ollama skips what it does not know. Fields that pith refuses when set
// (images, tools, tool_calls) are kept raw, since only their presence
// matters and their content must not be parsed.

// GenerateRequest is the body of POST /api/generate.
type GenerateRequest struct {
	Model    string            `json:"model"`
	Prompt   string            `json:"prompt"`
	Suffix   string            `json:"suffix"`
	System   string            `json:"system"`
	Template string            `json:"template"`
	Context  []int             `json:"context,omitempty"`
	Stream   *bool             `json:"stream,omitempty"`
	Raw      bool              `json:"raw,omitempty"`
	Format   json.RawMessage   `json:"format,omitempty"`
	Images   []json.RawMessage `json:"images,omitempty"`
	Options  map[string]any    `json:"options"`
}

// ChatRequest is the body of POST /api/chat.
type ChatRequest struct {
	Model    string            `json:"model"`
	Messages []Message         `json:"messages"`
	Stream   *bool             `json:"stream,omitempty"`
	Format   json.RawMessage   `json:"format,omitempty"`
	Tools    []json.RawMessage `json:"tools,omitempty"`
	Options  map[string]any    `json:"options"`
}

// Message is one chat message. Ollama lower-cases the role on decoding
// ("User" is "user"); handleChat does the same.
type Message struct {
	Role      string            `json:"role"`
	Content   string            `json:"content"`
	Images    []json.RawMessage `json:"images,omitempty"`
	ToolCalls []json.RawMessage `json:"tool_calls,omitempty"`
}

// Metrics are the timings and token counts of a generation; durations are
// nanoseconds on the wire, as time.Duration marshals.
type Metrics struct {
	TotalDuration      time.Duration `json:"total_duration,omitempty"`
	LoadDuration       time.Duration `json:"load_duration,omitempty"`
	PromptEvalCount    int           `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration time.Duration `json:"prompt_eval_duration,omitempty"`
	EvalCount          int           `json:"eval_count,omitempty"`
	EvalDuration       time.Duration `json:"eval_duration,omitempty"`
}

// GenerateResponse is one NDJSON line of /api/generate, or its whole
// answer when not streaming.
type GenerateResponse struct {
	Model      string    `json:"model"`
	CreatedAt  time.Time `json:"created_at"`
	Response   string    `json:"response"`
	Done       bool      `json:"done"`
	DoneReason string    `json:"done_reason,omitempty"`
	// Context, in the final object of a templated generation, is the
	// token ids to send back as the next request's context: a JSON array
	// of numbers, written in the request arena (Server.generate) so that
	// no Go slice of them outlives the request.
	Context json.RawMessage `json:"context,omitempty"`
	Metrics
}

// ChatResponse is one NDJSON line of /api/chat, or its whole answer.
type ChatResponse struct {
	Model      string    `json:"model"`
	CreatedAt  time.Time `json:"created_at"`
	Message    Message   `json:"message"`
	Done       bool      `json:"done"`
	DoneReason string    `json:"done_reason,omitempty"`
	Metrics
}

// ModelDetails describe the model in /api/tags and /api/show. Ollama
// always sends every field, empty or not.
type ModelDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

// ListResponse is the answer of GET /api/tags.
type ListResponse struct {
	Models []ListModelResponse `json:"models"`
}

// ListModelResponse is one model of ListResponse.
type ListModelResponse struct {
	Name       string       `json:"name"`
	Model      string       `json:"model"`
	ModifiedAt time.Time    `json:"modified_at"`
	Size       int64        `json:"size"`
	Digest     string       `json:"digest"`
	Details    ModelDetails `json:"details"`
}

// ShowRequest is the body of POST /api/show. Name is what older clients
// send instead of Model.
type ShowRequest struct {
	Model string `json:"model"`
	Name  string `json:"name"`
}

// ShowResponse is the answer of POST /api/show.
type ShowResponse struct {
	Parameters   string         `json:"parameters,omitempty"`
	Template     string         `json:"template,omitempty"`
	Details      ModelDetails   `json:"details"`
	ModelInfo    map[string]any `json:"model_info"`
	Capabilities []string       `json:"capabilities,omitempty"`
	ModifiedAt   time.Time      `json:"modified_at"`
}

// CapabilityCompletion is the one capability a pith model has.
const CapabilityCompletion = "completion"
