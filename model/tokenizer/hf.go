package tokenizer

import (
	"encoding/json"
	"fmt"
	"sort"
)

// FromHFJSON builds a Config from Hugging Face's tokenizer.json and
// tokenizer_config.json, as the npm tokenizer packages ship them. pre names
// the pre-tokenizer ("qwen2" or "llama-bpe"), which tokenizer.json states
// only as a regex.
func FromHFJSON(tokenizerJSON, configJSON []byte, pre string) (Config, error) {
	var tj struct {
		Model struct {
			Type         string           `json:"type"`
			Vocab        map[string]int32 `json:"vocab"`
			Merges       json.RawMessage  `json:"merges"`
			IgnoreMerges bool             `json:"ignore_merges"`
		} `json:"model"`
		Normalizer *struct {
			Type string `json:"type"`
		} `json:"normalizer"`
		AddedTokens []struct {
			ID      int32  `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(tokenizerJSON, &tj); err != nil {
		return Config{}, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	if tj.Model.Type != "BPE" {
		return Config{}, fmt.Errorf("tokenizer: tokenizer.json model %q is not BPE", tj.Model.Type)
	}
	n := int32(0)
	for _, id := range tj.Model.Vocab {
		n = max(n, id+1)
	}
	for _, a := range tj.AddedTokens {
		n = max(n, a.ID+1)
	}
	if n > 1<<22 {
		return Config{}, fmt.Errorf("tokenizer: vocabulary of %d entries is implausible", n)
	}
	cfg := Config{Model: "gpt2", Pre: pre, Tokens: make([]string, n), Types: make([]int32, n),
		BOS: -1, EOS: -1, EOT: -1, IgnoreMerges: tj.Model.IgnoreMerges}
	if tj.Normalizer != nil {
		if tj.Normalizer.Type != "NFC" {
			return Config{}, fmt.Errorf("tokenizer: normalizer %q is not supported", tj.Normalizer.Type)
		}
		cfg.NFC = true
	}
	for i := range cfg.Tokens {
		cfg.Tokens[i] = fmt.Sprintf("[PAD%d]", i)
		cfg.Types[i] = TypeUnused
	}
	for tok, id := range tj.Model.Vocab {
		if id < 0 {
			return Config{}, fmt.Errorf("tokenizer: negative id for %q", tok)
		}
		cfg.Tokens[id], cfg.Types[id] = tok, TypeNormal
	}
	for _, a := range tj.AddedTokens {
		if a.ID < 0 {
			return Config{}, fmt.Errorf("tokenizer: negative id for added token %q", a.Content)
		}
		cfg.Tokens[a.ID] = a.Content
		cfg.Types[a.ID] = TypeUserDefined
		if a.Special {
			cfg.Types[a.ID] = TypeControl
		}
	}
	// Merges are "a b" strings in older files and ["a", "b"] pairs in newer.
	var asStrings []string
	if err := json.Unmarshal(tj.Model.Merges, &asStrings); err == nil {
		cfg.Merges = asStrings
	} else {
		var pairs [][2]string
		if err := json.Unmarshal(tj.Model.Merges, &pairs); err != nil {
			return Config{}, fmt.Errorf("tokenizer: tokenizer.json merges: %w", err)
		}
		cfg.Merges = make([]string, len(pairs))
		for i, p := range pairs {
			cfg.Merges[i] = p[0] + " " + p[1]
		}
	}
	var tc struct {
		BOS      json.RawMessage `json:"bos_token"`
		EOS      json.RawMessage `json:"eos_token"`
		AddBOS   *bool           `json:"add_bos_token"`
		AddEOS   *bool           `json:"add_eos_token"`
		Template json.RawMessage `json:"chat_template"`
	}
	if len(configJSON) > 0 {
		if err := json.Unmarshal(configJSON, &tc); err != nil {
			return Config{}, fmt.Errorf("tokenizer: tokenizer_config.json: %w", err)
		}
	}
	lookup := func(raw json.RawMessage) int32 {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			var obj struct {
				Content string `json:"content"`
			}
			if json.Unmarshal(raw, &obj) != nil {
				return -1
			}
			s = obj.Content
		}
		for id, tok := range cfg.Tokens {
			if tok == s && s != "" {
				return int32(id)
			}
		}
		return -1
	}
	cfg.BOS, cfg.EOS = lookup(tc.BOS), lookup(tc.EOS)
	cfg.AddBOS = tc.AddBOS != nil && *tc.AddBOS
	// llama.cpp's converter copies add_eos_token into the GGUF file
	// (tokenizer.ggml.add_eos_token), where Load reads it.
	cfg.AddEOS = tc.AddEOS != nil && *tc.AddEOS
	// End-of-generation tokens: the ones llama.cpp finds by their text,
	// the end-of-turn marker among them.
	for id, tok := range cfg.Tokens {
		if EndsGeneration(tok) {
			cfg.EOG = append(cfg.EOG, int32(id))
			if tok == "<|im_end|>" || tok == "<|eot_id|>" {
				cfg.EOT = int32(id)
			}
		}
	}
	sort.Slice(cfg.EOG, func(a, b int) bool { return cfg.EOG[a] < cfg.EOG[b] })
	return cfg, nil
}

// ChatTemplate extracts the chat template string from tokenizer_config.json.
func ChatTemplate(configJSON []byte) (string, error) {
	var tc struct {
		Template json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(configJSON, &tc); err != nil {
		return "", fmt.Errorf("tokenizer: tokenizer_config.json: %w", err)
	}
	var s string
	if err := json.Unmarshal(tc.Template, &s); err == nil {
		return s, nil
	}
	var named []struct{ Name, Template string }
	if err := json.Unmarshal(tc.Template, &named); err == nil {
		for _, t := range named {
			if t.Name == "default" {
				return t.Template, nil
			}
		}
	}
	return "", fmt.Errorf("tokenizer: tokenizer_config.json has no usable chat_template")
}

// eogTexts are the tokens llama.cpp ends generation at whatever the file
// says (src/llama-vocab.cpp, llama_vocab::impl::load, "maintain a list of
// tokens that cause end-of-generation"). Its workarounds for gpt-oss's
// <|end|> and Gemma 4's </s> are left out: their pre-tokenizers are not
// supported, so their files never get this far.
var eogTexts = map[string]bool{
	"<|eot_id|>": true, "<|im_end|>": true, "<|end|>": true, "<|return|>": true, "<|call|>": true,
	"<|flush|>": true, "<|calls|>": true, "<end_of_turn>": true, "<|endoftext|>": true, "</s>": true,
	"<|eom_id|>": true, "<EOT>": true, "_<EOT>": true, "[EOT]": true, "[EOS]": true, "<|end_of_text|>": true,
	"<end_of_utterance>": true, "<eos>": true, "<turn|>": true, "<|tool_response>": true,
	"<｜end▁of▁sentence｜>": true, "[e~[": true,
}

// EndsGeneration reports whether llama.cpp ends generation at a token with
// this text, whatever the file names as EOS or EOT: the one list both a
// GGUF file's vocabulary (model.Load) and Hugging Face's (FromHFJSON) use.
func EndsGeneration(text string) bool { return eogTexts[text] }
