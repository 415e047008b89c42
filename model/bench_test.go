package model_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model"
)

// BenchmarkQwen05B measures prompt processing (128 tokens) and generation
// (32 tokens) on a synthetic Qwen2.5-0.5B Q4_0 file, and runs llama.cpp's
// llama-bench on the same file with the same threads in the same run, so
// the ratio means something on a shared machine. Run with -benchtime 1x.
func BenchmarkQwen05B(b *testing.B) {
	const pp, tg = 128, 32
	path, m := synthFile(b, b.TempDir(), "qwen2.5-0.5b", "q4_0")
	prompt := make([]int32, pp)
	for i := range prompt {
		prompt[i] = int32(1000 + i*37)
	}
	threads := kernels.Threads()
	var ppRate, tgRate float64
	for b.Loop() {
		st := m.NewState(model.HeapAllocator{}, pp+tg+1, pp)
		start := time.Now()
		logits, err := st.Forward(prompt)
		if err != nil {
			b.Fatal(err)
		}
		ppRate = pp / time.Since(start).Seconds()
		start = time.Now()
		tok := int32(0)
		for range tg {
			for i, v := range logits {
				if v > logits[tok] {
					tok = int32(i)
				}
			}
			if logits, err = st.Forward([]int32{tok}); err != nil {
				b.Fatal(err)
			}
		}
		tgRate = tg / time.Since(start).Seconds()
	}
	b.ReportMetric(ppRate, "pith_pp128_tok/s")
	b.ReportMetric(tgRate, "pith_tg32_tok/s")

	if ok, _ := oracle.Available(oracle.Llama); !ok {
		oracle.Require(b, oracle.Llama)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := oracle.Bench(ctx, path, "-p", fmt.Sprint(pp), "-n", fmt.Sprint(tg), "-t", fmt.Sprint(threads), "-r", "3", "-o", "json")
	if err != nil {
		b.Fatal(err)
	}
	var runs []struct {
		NPrompt int     `json:"n_prompt"`
		NGen    int     `json:"n_gen"`
		AvgTS   float64 `json:"avg_ts"`
	}
	if err := json.Unmarshal(out, &runs); err != nil {
		b.Fatalf("llama-bench output: %v\n%s", err, out)
	}
	for _, r := range runs {
		switch {
		case r.NPrompt == pp && r.NGen == 0:
			b.ReportMetric(r.AvgTS, "llama_pp128_tok/s")
			b.ReportMetric(ppRate/r.AvgTS, "pp_ratio")
		case r.NGen == tg && r.NPrompt == 0:
			b.ReportMetric(r.AvgTS, "llama_tg32_tok/s")
			b.ReportMetric(tgRate/r.AvgTS, "tg_ratio")
		}
	}
}
