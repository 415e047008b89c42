package synth

import (
	"fmt"
	"strings"

	"github.com/pith-project/pith/kernels"
)

// FileType is a --type choice: llama.cpp's general.file_type and the
// default storage type of 2-D weights, from which the per-tensor mix
// follows as llama-quantize chooses it (see tensorType).
type FileType struct {
	Name    string
	FType   uint32 // llama_ftype
	Default kernels.Type
}

var fileTypes = []FileType{
	{"f32", 0, kernels.F32},
	{"f16", 1, kernels.F16},
	{"q4_0", 2, kernels.Q4_0},
	{"q4_1", 3, kernels.Q4_1},
	{"q8_0", 7, kernels.Q8_0},
	{"q4_k_m", 15, kernels.Q4_K},
	{"q5_k_m", 17, kernels.Q5_K},
	{"q6_k", 18, kernels.Q6_K},
}

// TypeNames lists the supported --type values.
func TypeNames() []string {
	var n []string
	for _, f := range fileTypes {
		n = append(n, f.Name)
	}
	return n
}

// LookupType returns a file type by its --type name.
func LookupType(name string) (FileType, error) {
	for _, f := range fileTypes {
		if strings.EqualFold(f.Name, name) {
			return f, nil
		}
	}
	return FileType{}, fmt.Errorf("synth: unknown type %q (have %v)", name, TypeNames())
}

// mediumMix reports the _M presets, which give some attn_v and ffn_down
// tensors Q6_K.
func (f FileType) mediumMix() bool { return f.Name == "q4_k_m" || f.Name == "q5_k_m" }

func (f FileType) quantized() bool { return f.Default != kernels.F32 && f.Default != kernels.F16 }

// mixState carries llama-quantize's counters across the tensors of a file,
// visited in its order (by layer, then by name).
type mixState struct {
	hasOutput bool
	layers    int
	attnV     int // attn_v tensors seen so far
	ffnDown   int
}

// useMoreBits is llama-quantize's choice of the layers that get more bits in
// the _M mixes: the first and last eighth, and every third one between.
func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// tensorType is the storage type llama-quantize (llama_tensor_get_type in
// llama.cpp's src/llama-quant.cpp) gives a 2-D tensor with rows of nx
// elements; 1-D tensors (norms, biases, rope_freqs) stay F32. Only the
// branches the supported file types reach are here.
func (f FileType) tensorType(st *mixState, name string, nx int) kernels.Type {
	if !f.quantized() {
		return f.Default
	}
	t := f.Default
	switch {
	case name == "output.weight" || (!st.hasOutput && name == "token_embd.weight"):
		// The output projection gets at least 6 bits, or Q8_0 when its rows
		// do not split into blocks of the default type.
		if nx%t.BlockSize() != 0 {
			t = kernels.Q8_0
		} else if t != kernels.Q8_0 {
			t = kernels.Q6_K
		}
	case name == "token_embd.weight":
	case strings.Contains(name, "attn_v.weight"):
		if f.mediumMix() && useMoreBits(st.attnV, st.layers) {
			t = kernels.Q6_K
		}
		st.attnV++
	case strings.Contains(name, "ffn_down"):
		if f.mediumMix() && useMoreBits(st.ffnDown, st.layers) {
			t = kernels.Q6_K
		}
		st.ffnDown++
	}
	if nx%t.BlockSize() != 0 {
		// Rows that are not whole K-quant super-blocks (896 in Qwen2.5-0.5B)
		// fall back to a legacy type of about the same size.
		switch t {
		case kernels.Q4_K:
			t = kernels.Q5_0
		case kernels.Q5_K:
			t = kernels.Q5_1
		case kernels.Q6_K:
			t = kernels.Q8_0
		}
		if nx%t.BlockSize() != 0 {
			t = kernels.F16
		}
	}
	return t
}
