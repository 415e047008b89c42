package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
)

// LlamaBench runs llama.cpp's llama-bench.
type LlamaBench struct {
	// Command returns a command running llama-bench with args.
	Command func(ctx context.Context, args ...string) *exec.Cmd
	// Stage makes a host file visible to llama-bench and returns the path
	// it sees (llama.cpp may run in a chroot) and a function that undoes
	// it. Nil means llama-bench sees host paths.
	Stage func(path string) (string, func(), error)

	build string
}

// LlamaBenchAt is a LlamaBench running the binary at path directly.
func LlamaBenchAt(path string) *LlamaBench {
	return &LlamaBench{Command: func(ctx context.Context, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, path, args...)
	}}
}

func (l *LlamaBench) stage(path string) (string, func(), error) {
	if l.Stage == nil {
		return path, func() {}, nil
	}
	inside, cleanup, err := l.Stage(path)
	if err != nil {
		return "", nil, fmt.Errorf("bench: llama-bench: stage %q: %w", path, err)
	}
	return inside, cleanup, nil
}

// run measures every prompt and generation length once with llama-bench
// (which warms each test up itself) and returns the figures and the
// process's peak resident set in MiB.
func (l *LlamaBench) run(ctx context.Context, modelPath string, prompts, gens []int, threads int) ([]Figure, float64, error) {
	p, n := joinInts(prompts), joinInts(gens)
	if p == "" {
		p = "0"
	}
	if n == "" {
		n = "0"
	}
	cmd := l.Command(ctx, "-m", modelPath, "-p", p, "-n", n, "-t", strconv.Itoa(threads), "-r", "1", "-o", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	rss, err := runPolled(cmd)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("bench: llama-bench: %w: %s", err, tail(stderr.String(), 2000))
	}
	if rss == 0 {
		return nil, 0, errors.New("bench: llama-bench: exited before its memory could be read")
	}
	rows, err := ParseLlamaBench(stdout.Bytes())
	if err != nil {
		return nil, 0, err
	}
	var figs []Figure
	for _, r := range rows {
		if r.Threads != threads {
			return nil, 0, fmt.Errorf("bench: llama-bench ran with %d threads, asked for %d", r.Threads, threads)
		}
		test := ""
		switch {
		case r.NPrompt > 0 && r.NGen == 0:
			test = ppTest(r.NPrompt)
		case r.NGen > 0 && r.NPrompt == 0:
			test = tgTest(r.NGen)
		default:
			continue // a combined pp+tg test: pith has no counterpart
		}
		figs = append(figs, Figure{Suite: SuiteModel, System: SystemLlama, Test: test, Threads: threads, Unit: UnitTokPerSec, Samples: r.SamplesTS})
		if l.build == "" {
			l.build = fmt.Sprintf("llama-bench build %d (%s), %s", r.BuildNumber, r.BuildCommit, r.Backends)
		}
	}
	return figs, rss, nil
}

// LlamaRow is the part of one llama-bench JSON record that bench uses.
type LlamaRow struct {
	BuildCommit string    `json:"build_commit"`
	BuildNumber int       `json:"build_number"`
	Backends    string    `json:"backends"`
	ModelType   string    `json:"model_type"`
	ModelSize   int64     `json:"model_size"`
	Threads     int       `json:"n_threads"`
	NPrompt     int       `json:"n_prompt"`
	NGen        int       `json:"n_gen"`
	AvgTS       float64   `json:"avg_ts"`
	SamplesTS   []float64 `json:"samples_ts"`
}

// ParseLlamaBench reads llama-bench's `-o json` output (an array of
// records, one per test) and checks what bench relies on.
func ParseLlamaBench(data []byte) ([]LlamaRow, error) {
	var rows []LlamaRow
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("bench: llama-bench output %q: %w", tail(string(data), 200), err)
	}
	for i, r := range rows {
		if r.Threads < 1 || r.NPrompt < 0 || r.NGen < 0 || (r.NPrompt == 0 && r.NGen == 0) {
			return nil, fmt.Errorf("bench: llama-bench record %d: threads %d, n_prompt %d, n_gen %d", i, r.Threads, r.NPrompt, r.NGen)
		}
		if len(r.SamplesTS) == 0 {
			return nil, fmt.Errorf("bench: llama-bench record %d has no samples_ts", i)
		}
		for _, v := range r.SamplesTS {
			if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
				return nil, fmt.Errorf("bench: llama-bench record %d: sample %v", i, v)
			}
		}
	}
	return rows, nil
}
