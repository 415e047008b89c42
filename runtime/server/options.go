package server

import (
	"fmt"
	"math"

	"github.com/pith-project/pith/model"
)

// ollamaIgnored are options ollama accepts that mean nothing here (GPU
// placement, batching, penalties ollama's own runner ignores); a client
// that sends them is not refused.
var ollamaIgnored = map[string]bool{
	"num_keep": true, "typical_p": true, "presence_penalty": true, "frequency_penalty": true,
	"num_batch": true, "num_gpu": true, "main_gpu": true, "use_mmap": true, "num_thread": true,
	"penalize_newline": true, "numa": true, "low_vram": true, "vocab_only": true, "use_mlock": true,
	"mirostat": true, "mirostat_tau": true, "mirostat_eta": true, "tfs_z": true,
}

// generationOptions maps an Ollama request's "options" object onto the
// model's options. It is written here rather than taken from ollama's
// api.Options.FromMap because that one logs the names of unknown keys, and
// a key is request content.
func generationOptions(m map[string]any, lim Limits) (model.Options, error) {
	o := model.DefaultOptions()
	o.NumCtx = lim.DefaultContext
	for k, v := range m {
		if v == nil {
			continue
		}
		var err error
		switch k {
		case "temperature":
			o.Temperature, err = float32Opt(k, v)
		case "top_k":
			o.TopK, err = intOpt(k, v)
		case "top_p":
			o.TopP, err = float32Opt(k, v)
		case "min_p":
			o.MinP, err = float32Opt(k, v)
		case "repeat_penalty":
			o.RepeatPenalty, err = float32Opt(k, v)
		case "repeat_last_n":
			o.RepeatLastN, err = intOpt(k, v)
		case "seed":
			var s int
			s, err = intOpt(k, v)
			o.Seed = int64(s)
		case "num_predict":
			o.NumPredict, err = intOpt(k, v)
		case "num_ctx":
			o.NumCtx, err = intOpt(k, v)
		case "stop":
			list, ok := v.([]any)
			if !ok {
				return o, fmt.Errorf("option %q must be an array of strings", k)
			}
			o.Stop = make([]string, 0, len(list))
			for _, s := range list {
				str, ok := s.(string)
				if !ok {
					return o, fmt.Errorf("option %q must be an array of strings", k)
				}
				o.Stop = append(o.Stop, str)
			}
		default:
			// Unknown options are ignored, as ollama does (it only warns).
			_ = ollamaIgnored[k]
		}
		if err != nil {
			return o, err
		}
	}
	if len(o.Stop) > lim.MaxStops {
		return o, fmt.Errorf("option \"stop\": %d stop strings, the limit is %d", len(o.Stop), lim.MaxStops)
	}
	for _, s := range o.Stop {
		if len(s) > 256 {
			return o, fmt.Errorf("option \"stop\": a stop string is longer than 256 bytes")
		}
	}
	if o.NumCtx > lim.MaxContext {
		return o, fmt.Errorf("option \"num_ctx\": %d is above this server's limit of %d tokens", o.NumCtx, lim.MaxContext)
	}
	switch {
	case o.NumPredict > lim.MaxPredict:
		return o, fmt.Errorf("option \"num_predict\": %d is above this server's limit of %d tokens", o.NumPredict, lim.MaxPredict)
	case o.NumPredict < 0:
		// "Until the context is full" is still bounded by the server's limit.
		o.NumPredict = lim.MaxPredict
	}
	return o, o.Validate()
}

func intOpt(k string, v any) (int, error) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return 0, fmt.Errorf("option %q must be an integer", k)
	}
	return int(f), nil
}

func float32Opt(k string, v any) (float32, error) {
	f, ok := v.(float64)
	if !ok || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > math.MaxFloat32 {
		return 0, fmt.Errorf("option %q must be a number", k)
	}
	return float32(f), nil
}
