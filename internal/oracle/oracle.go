// Package oracle drives the reference implementations that pith's tests
// compare against: llama.cpp (Debian sid's llama.cpp-tools in a debootstrap
// root), and npm packages (Hugging Face tokenizers and Jinja, HPKE, BHTTP,
// the ollama client) run through node. scripts/install-oracles.sh installs
// them; `make test` runs it and sets PITH_ORACLES=1.
//
// A test that needs an oracle calls Require (or a helper that does): when the
// oracle is missing the test skips with a message saying how to install it,
// unless PITH_ORACLES is set, in which case it fails, so CI can never pass by
// skipping.
package oracle

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir is where install-oracles.sh puts the oracles: $PITH_ORACLE_DIR, or
// ~/.cache/pith/oracles.
func Dir() string {
	if d := os.Getenv("PITH_ORACLE_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".cache", "pith", "oracles")
}

// Mandatory reports whether missing oracles are a failure (PITH_ORACLES set
// to anything but "" or "0").
func Mandatory() bool {
	v := os.Getenv("PITH_ORACLES")
	return v != "" && v != "0"
}

// Kind names one oracle.
type Kind string

const (
	Llama Kind = "llama.cpp" // llama-server, llama-quantize, llama-bench in the sid root
	NPM   Kind = "npm"       // node with the npm packages
)

// Available reports whether an oracle is installed, and if not, why.
func Available(k Kind) (bool, string) {
	switch k {
	case Llama:
		p := filepath.Join(LlamaRoot(), "usr", "bin", "llama-server")
		if _, err := os.Stat(p); err != nil {
			return false, "llama.cpp root not found at " + LlamaRoot()
		}
		if os.Geteuid() != 0 {
			return false, "llama.cpp runs through chroot, which needs root"
		}
		return true, ""
	case NPM:
		if _, err := lookNode(); err != nil {
			return false, err.Error()
		}
		if _, err := os.Stat(filepath.Join(NodeModules(), "@lenml", "tokenizers", "package.json")); err != nil {
			return false, "npm packages not found in " + NodeModules()
		}
		return true, ""
	}
	return false, "unknown oracle " + string(k)
}

// Require skips t when oracle k is missing and oracles are optional, and
// fails it when they are mandatory.
func Require(t testing.TB, k Kind) {
	t.Helper()
	ok, why := Available(k)
	if ok {
		return
	}
	msg := string(k) + " oracle missing (" + why + "); install with scripts/install-oracles.sh or run 'make test'"
	if Mandatory() {
		t.Fatal(msg + " [PITH_ORACLES is set, so this is a failure]")
	}
	t.Skip(msg)
}
