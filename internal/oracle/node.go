package oracle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// NodeModules is the node_modules folder holding the npm oracles.
func NodeModules() string { return filepath.Join(Dir(), "npm", "node_modules") }

func lookNode() (string, error) {
	p, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("node is not installed")
	}
	return p, nil
}

// RunNode runs an ES module script with node: in is written to its standard
// input as JSON, and its standard output is decoded as JSON into out (unless
// out is nil). The script is placed beside node_modules so that its imports
// resolve to the installed packages (ES modules ignore NODE_PATH).
//
// Scripts read input with:
//
//	const input = JSON.parse(require('fs').readFileSync(0, 'utf8'))   // CommonJS
//	import fs from 'node:fs'; const input = JSON.parse(fs.readFileSync(0, 'utf8'))  // ESM
func RunNode(ctx context.Context, script string, in, out any) error {
	node, err := lookNode()
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(script))
	dir := filepath.Join(Dir(), "npm", ".scripts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, hex.EncodeToString(sum[:8])+".mjs")
	if _, err := os.Stat(path); err != nil {
		tmp := path + fmt.Sprintf(".%d.tmp", os.Getpid())
		if err := os.WriteFile(tmp, []byte(script), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("oracle: node input: %w", err)
	}
	cmd := exec.CommandContext(ctx, node, path)
	cmd.Dir = filepath.Dir(dir)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("oracle: node script failed: %w\n%s", err, tail(stderr.Bytes(), 2000))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("oracle: node output is not the JSON expected: %w\n%s", err, tail(stdout.Bytes(), 500))
	}
	return nil
}

// Node is RunNode for tests: it requires the npm oracle, allows two minutes,
// and fails t on error.
func Node(t testing.TB, script string, in, out any) {
	t.Helper()
	Require(t, NPM)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := RunNode(ctx, script, in, out); err != nil {
		t.Fatal(err)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
