package model_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/model/synth"
)

// synthFile writes a synthetic model into dir and loads it.
func synthFile(t testing.TB, dir, shape, typ string) (string, *model.Model) {
	t.Helper()
	oracle.Require(t, oracle.NPM) // the real vocabularies come from the npm packages
	path := filepath.Join(dir, shape+"-"+typ+".gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.Generate(f, synth.Options{Shape: shape, Type: typ, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := gguf.ReadFile(path, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	return path, m
}

func logSoftmax(logits []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	out := make([]float64, len(logits))
	for i, v := range logits {
		out[i] = float64(v) - mx - math.Log(sum)
	}
	return out
}

// The same synthetic file gives the same next-token log-probabilities in
// pith and in llama.cpp at each of 16 positions, and the same 32-token
// greedy continuation.
//
// llama.cpp runs with flash attention off: its CPU flash attention
// accumulates in F16, which alone moves log-probabilities by up to 0.3 here.
//
// The synthetic models are chaotic on purpose (sharp attention, logits
// spread over tens of nats), so every rounding llama.cpp does must be done
// here too (forward.go, kernels.AttentionCausal): leaving the query and the attention weights in
// F32 moved log-probabilities by up to 0.74. With them copied, nearly every
// position agrees within 1e-4, but the two still add in different orders,
// and now and then that tips a Q8_0 or F16 rounding of an activation the
// other way, which the chaotic weights amplify to a tenth of a nat at that
// position (measured: one position in 60 of the quantised cases, 0.15). So
// the test holds all but two positions of each file to near-identity
// (closeTol, which a missing rounding breaks at most positions) and every
// position to the bars (tol), and the greedy continuation exactly.
//
// Only the tiny shapes: with the published ones (24 to 30 layers) the
// synthetic weights amplify float32 rounding itself. pith and the float64
// reference, copying the same roundings, part by up to 2.0 nats on
// SmolLM2-135M Q8_0 and 2.4 on Qwen2.5-0.5B Q8_0 (0.07 on SmolLM2 F16), as
// far as either is from llama.cpp, so no bound there could tell a bug from
// noise until the synthetic weights are tamer (measured 2026-11-25).
func TestMatchesLlamaCpp(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	dir := t.TempDir()
	const prompt = "Alice: are we still meeting tomorrow at 10?\nBob: yes, in the small room. Bring the budget draft please."
	for _, shape := range []string{"tiny-qwen2", "tiny-llama3"} {
		for _, typ := range []struct {
			name string
			tol  float64
			// closeTol: all positions but one within it; 0 skips the count.
			closeTol float64
		}{{"f16", 0.02, 0}, {"q8_0", 0.2, 2e-3}, {"q4_0", 0.2, 2e-3}} {
			t.Run(fmt.Sprintf("%s/%s", shape, typ.name), func(t *testing.T) {
				path, m := synthFile(t, dir, shape, typ.name)
				srv := oracle.StartLlamaServerT(t, path, "--flash-attn", "off")
				ids := m.Tokenizer.Encode(prompt, true, false)
				want, err := srv.Tokenize(prompt, true, false)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(ids) != fmt.Sprint(want) {
					t.Fatalf("tokens differ:\n pith  %v\n llama %v", ids, want)
				}
				if len(ids) < 17 {
					t.Fatalf("prompt has only %d tokens", len(ids))
				}
				st := m.NewState(model.HeapAllocator{}, 512, 1)
				worst, far := 0.0, 0
				for pos := 0; pos < 16; pos++ {
					logits, err := st.Forward(ids[pos : pos+1])
					if err != nil {
						t.Fatal(err)
					}
					if pos == 0 {
						continue // llama-server needs a prompt of at least one token to predict after
					}
					ours := logSoftmax(logits)
					top, err := srv.NextTokens(toInts(ids[:pos+1]), 10)
					if err != nil {
						t.Fatal(err)
					}
					here := 0.0
					for _, c := range top {
						d := math.Abs(ours[c.ID] - c.Logprob)
						here = math.Max(here, d)
						if d > typ.tol {
							t.Errorf("position %d, token %d (%q): pith log-prob %.4f, llama.cpp %.4f", pos, c.ID, c.Token, ours[c.ID], c.Logprob)
						}
					}
					if typ.closeTol > 0 && here > typ.closeTol {
						far++
						t.Logf("position %d: top-10 log-probs differ by up to %.4f", pos, here)
					}
					worst = math.Max(worst, here)
				}
				if far > 2 {
					t.Errorf("%d of 15 positions differ from llama.cpp by more than %g (at most 2 may: a tipped rounding reaches later positions through the cache)", far, typ.closeTol)
				}
				t.Logf("worst top-10 log-prob difference %.5f (tolerance %.2f), %d positions above %g", worst, typ.tol, far, typ.closeTol)
				// Greedy continuation, 32 tokens, after a batched prefill.
				steps, err := srv.Complete(toInts(ids), 32, 2)
				if err != nil {
					t.Fatal(err)
				}
				var got []int32
				st2 := m.NewState(model.HeapAllocator{}, 512, 64)
				logits, err := st2.Forward(ids)
				if err != nil {
					t.Fatal(err)
				}
				for range 32 {
					best := int32(0)
					for i, v := range logits {
						if v > logits[best] {
							best = int32(i)
						}
					}
					got = append(got, best)
					if logits, err = st2.Forward([]int32{best}); err != nil {
						t.Fatal(err)
					}
				}
				if len(steps) != 32 {
					t.Fatalf("llama.cpp generated %d tokens, want 32", len(steps))
				}
				for i, s := range steps {
					if int32(s.ID) == got[i] {
						continue
					}
					// The continuations may part only where llama.cpp's own
					// top two are a near tie, which a rounding can tip.
					if len(s.Top) == 2 && int32(s.Top[1].ID) == got[i] && s.Top[0].Logprob-s.Top[1].Logprob <= typ.tol {
						t.Logf("greedy token %d: a near tie (%.4f nats) that pith breaks the other way; %d tokens identical before it", i, s.Top[0].Logprob-s.Top[1].Logprob, i)
						return
					}
					t.Fatalf("greedy token %d: pith %d, llama.cpp %d (top %+v; pith %v)", i, got[i], s.ID, s.Top, got)
				}
				t.Log("32 greedy tokens identical")
			})
		}
	}
}

func toInts(ids []int32) []int {
	out := make([]int, len(ids))
	for i, v := range ids {
		out[i] = int(v)
	}
	return out
}
