// Package bench measures pith on the machine it runs on and says how close it
// is to that machine's limits and to llama.cpp: kernel throughput as a share
// of this run's bandwidth and FMA probes (kernels/probe), prompt processing
// and generation speed of a model file, time to first token and peak memory,
// with llama.cpp's llama-bench run on the same file, interleaved with pith's
// runs so that both see the same machine; and the sealed serving path
// (OHTTP through the verifying client) against the plaintext API of the
// same server and against llama-server, under concurrent load.
//
// Results are Reports: a versioned JSON document (Format), terminal and
// Markdown tables, an SVG plot, and Diff, which says which changes between
// two reports exceed the run-to-run noise (NoiseRule). A report never
// mixes runs: Merge joins only reports of one machine and build with
// disjoint figures.
package bench
