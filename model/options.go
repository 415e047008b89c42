package model

import (
	"fmt"
	"math"
)

// Options are the generation options, with ollama's names and meanings
// (https://github.com/ollama/ollama/blob/main/docs/modelfile.md). Zero values
// are not defaults: use DefaultOptions and override.
type Options struct {
	Temperature   float32  // 0 means greedy
	TopK          int      // 0 disables
	TopP          float32  // 1 disables
	MinP          float32  // 0 disables
	RepeatPenalty float32  // 1 disables
	RepeatLastN   int      // tokens looked back for the penalty; -1 means the whole context
	Seed          int64    // -1 means a fresh random seed
	NumPredict    int      // tokens to generate at most; -1 means until the context is full
	NumCtx        int      // context length in tokens (prompt + generation)
	Stop          []string // generation stops before any of these strings
}

// DefaultOptions are ollama's defaults.
func DefaultOptions() Options {
	return Options{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.9,
		MinP:          0,
		RepeatPenalty: 1.1,
		RepeatLastN:   64,
		Seed:          -1,
		NumPredict:    -1,
		NumCtx:        4096,
	}
}

// Validate reports options that cannot be honoured, naming the option.
func (o Options) Validate() error {
	switch {
	case o.Temperature < 0 || math.IsNaN(float64(o.Temperature)):
		return fmt.Errorf("options: temperature %v must be >= 0", o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("options: top_k %d must be >= 0", o.TopK)
	case !(o.TopP > 0 && o.TopP <= 1):
		return fmt.Errorf("options: top_p %v must be in (0, 1]", o.TopP)
	case !(o.MinP >= 0 && o.MinP <= 1):
		return fmt.Errorf("options: min_p %v must be in [0, 1]", o.MinP)
	case !(o.RepeatPenalty > 0) || math.IsInf(float64(o.RepeatPenalty), 0):
		return fmt.Errorf("options: repeat_penalty %v must be > 0", o.RepeatPenalty)
	case o.RepeatLastN < -1:
		return fmt.Errorf("options: repeat_last_n %d must be >= -1", o.RepeatLastN)
	case o.NumPredict < -2: // ollama also accepts -2 ("fill the context")
		return fmt.Errorf("options: num_predict %d must be >= -2", o.NumPredict)
	case o.NumCtx < 1:
		return fmt.Errorf("options: num_ctx %d must be >= 1", o.NumCtx)
	}
	for _, s := range o.Stop {
		if s == "" {
			return fmt.Errorf("options: stop: empty stop string")
		}
	}
	return nil
}
