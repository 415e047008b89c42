package main

import (
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
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "pith", "models", "qwen2.5-0.5b-q4_0.gguf")
}

// openModel loads a GGUF model: read whole and checked against sha256 when
// one is given (as the enclave does), else memory-mapped.
func openModel(path, sha256 string) (*model.Model, error) {
	if path == "" {
		path = defaultModelPath()
	}
	var f *gguf.File
	var err error
	if sha256 != "" {
		f, err = gguf.ReadFile(path, sha256)
	} else {
		f, err = gguf.Mmap(path)
	}
	if err != nil {
		if os.IsNotExist(err) || (err != nil && isNotExist(path)) {
			return nil, fmt.Errorf("%w\n(make a synthetic one with 'pith model synth -o %s', or run 'make demo')", err, path)
		}
		return nil, err
	}
	return model.Load(f)
}

func isNotExist(path string) bool {
	_, err := os.Stat(path)
	return os.IsNotExist(err)
}
