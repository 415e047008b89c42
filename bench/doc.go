// Package bench measures pith on the machine it runs on and says how close it
// is to that machine's limits and to llama.cpp: kernel throughput as a share
// of this run's bandwidth and FMA probes, prompt processing and generation
// speed of a model file, time to first token and peak memory, with
// llama.cpp's llama-bench run on the same file, interleaved with pith's runs
// so that both see the same machine. Results are Reports: a versioned JSON
// document, a terminal or Markdown table, an SVG plot, and a diff of two
// reports that says which changes exceed the run-to-run noise.
//
// A report never compares figures from different runs or machines except in
// Diff, which the user asks for explicitly.
package bench
