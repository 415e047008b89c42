package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
)

// defaultModelPath is where `make demo` puts its synthetic model; --model
// or $PITH_MODEL choose another file.
func defaultModelPath() string {
	if p := os.Getenv("PITH_MODEL"); p != "" {
		return p
	}
	return demoModelPath()
}

// demoModelPath is the model file pith uses when neither --model nor
// $PITH_MODEL names one, in the user's cache.
func demoModelPath() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "pith", "models", "qwen2.5-0.5b-q4_0.gguf")
}

// openModel loads a GGUF model to run it: read whole, as the enclave does,
// and checked against sha256 when one is given. Whole, the weights sit on
// huge pages (gguf.ReadFile), from which decode streams them faster than
// from a mapped file's 4 KiB pages.
func openModel(path, sha256 string) (*model.Model, error) {
	return loadModel(path, func(path string) (*gguf.File, error) { return gguf.ReadFile(path, sha256) })
}

// openModelMapped loads a GGUF model memory-mapped, for commands that read
// only part of it (the tokenizer): pages are read as they are touched.
func openModelMapped(path string) (*model.Model, error) {
	return loadModel(path, gguf.Mmap)
}

func loadModel(path string, open func(string) (*gguf.File, error)) (*model.Model, error) {
	if err := checkModelFile(path); err != nil {
		return nil, err
	}
	if path == "" {
		path = defaultModelPath()
	}
	f, err := open(path)
	if err != nil {
		// The hint is for the demo model, which a user may not have made
		// yet; a path the user gave is more likely mistyped.
		if path == demoModelPath() && (os.IsNotExist(err) || isNotExist(path)) {
			return nil, fmt.Errorf("%w\n(make a synthetic one with 'pith model synth -o %s', or run 'make demo')", err, path)
		}
		return nil, err
	}
	return model.Load(f)
}

// checkModelFile refuses the model file a --model flag names ("" for the
// default, $PITH_MODEL or the demo model) when it is a directory or empty,
// naming where the path came from.
func checkModelFile(flagValue string) error {
	from, path := "--model", flagValue
	if path == "" {
		from, path = "$PITH_MODEL", defaultModelPath()
		if os.Getenv("PITH_MODEL") == "" {
			from = "the demo model"
		}
	}
	return checkInputFile(from, path, "a GGUF file")
}

// checkInputFile refuses, as a usage error, an input path that is a
// directory or an empty file: the readers' own words for them ("mmap d:
// no such device", "bad magic", "EOF") do not tell the user that the
// path given was the wrong kind of thing. from names where the path came
// from ("--manifest"; "" for an argument), what the kind of file wanted
// ("a GGUF file"). A path that cannot be read at all passes: its reader
// says why, naming it.
func checkInputFile(from, path, what string) error {
	st, err := os.Stat(path)
	if err != nil {
		return nil
	}
	name := path
	if from != "" {
		name = from + " " + path
	}
	switch {
	case st.IsDir():
		return usagef("%s: is a directory, not %s", name, what)
	case st.Mode().IsRegular() && st.Size() == 0:
		return usagef("%s: file is empty, not %s", name, what)
	}
	return nil
}

func isNotExist(path string) bool {
	_, err := os.Stat(path)
	return os.IsNotExist(err)
}

// cacheTypeVar defines --cache-type, the KV cache's element type, into t;
// more is added to its help.
func cacheTypeVar(fs *flag.FlagSet, t *model.CacheType, more string) {
	fs.Var(t, "cache-type", "element type of the key and value cache: "+model.CacheTypeNames+
		" (default f16;\nf32 takes twice the memory and keeps them unrounded)"+more)
}
