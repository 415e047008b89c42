package tokenizer

// Corpus gives the external tests (which may import model, and so reach
// llama.cpp through a GGUF file) the same strings as the internal ones.
var Corpus = corpus
