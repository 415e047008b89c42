package oracle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// LlamaRoot is the Debian sid root holding llama.cpp-tools.
func LlamaRoot() string { return filepath.Join(Dir(), "llama") }

var stageSeq atomic.Int64

// Stage makes a file visible inside the llama.cpp root, by hard link where
// possible and by copy otherwise, and returns its path as seen inside the
// chroot and a function that removes it.
func Stage(path string) (inside string, cleanup func(), err error) {
	dirName := fmt.Sprintf("%d-%d", os.Getpid(), stageSeq.Add(1))
	dir := filepath.Join(LlamaRoot(), "work", dirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	dst := filepath.Join(dir, filepath.Base(path))
	if err := os.Link(path, dst); err != nil {
		if err := copyFile(dst, path); err != nil {
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("oracle: stage %s: %w", path, err)
		}
	}
	return "/work/" + dirName + "/" + filepath.Base(path), func() { os.RemoveAll(dir) }, nil
}

// Outside maps a path inside the llama.cpp root back to the host.
func Outside(inside string) string { return filepath.Join(LlamaRoot(), inside) }

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// LlamaCommand returns a command running one of llama.cpp's tools (for
// example "llama-bench") inside the root. Paths in args must be inside paths
// (see Stage).
func LlamaCommand(ctx context.Context, tool string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "chroot", append([]string{LlamaRoot(), tool}, args...)...)
}

// RunLlama runs a llama.cpp tool to completion and returns its standard
// output; the error carries the tail of standard error.
func RunLlama(ctx context.Context, tool string, args ...string) ([]byte, error) {
	cmd := LlamaCommand(ctx, tool, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("oracle: %s %s: %w\n%s", tool, strings.Join(args, " "), err, tail(stderr.Bytes(), 3000))
	}
	return stdout.Bytes(), nil
}

// Quantize runs llama-quantize on a host file and writes the result to a
// host path. typ is a llama-quantize preset such as "Q4_K_M" or "Q8_0".
func Quantize(ctx context.Context, in, out, typ string) error {
	src, done, err := Stage(in)
	if err != nil {
		return err
	}
	defer done()
	dst := filepath.Join(filepath.Dir(src), "quantized.gguf")
	if _, err := RunLlama(ctx, "llama-quantize", src, dst, typ); err != nil {
		return err
	}
	return copyFile(out, Outside(dst))
}

// Bench runs llama-bench on a host model file with extra arguments (for
// example "-p", "128", "-n", "64", "-t", "2", "-o", "json") and returns its
// standard output.
func Bench(ctx context.Context, model string, args ...string) ([]byte, error) {
	src, done, err := Stage(model)
	if err != nil {
		return nil, err
	}
	defer done()
	return RunLlama(ctx, "llama-bench", append([]string{"-m", src}, args...)...)
}

// LlamaServer is a llama-server started on a loopback port for one model.
type LlamaServer struct {
	URL     string
	cmd     *exec.Cmd
	cleanup func()
	stderr  *lockedBuffer
	done    chan struct{}
	once    sync.Once
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		l.b.Reset()
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(tail(l.b.Bytes(), 3000))
}

// StartLlamaServer starts llama-server on model (a host path) and waits until
// it reports healthy. extra are additional llama-server flags. Call Close.
func StartLlamaServer(ctx context.Context, model string, extra ...string) (*LlamaServer, error) {
	if ok, why := Available(Llama); !ok {
		return nil, errors.New("oracle: " + why)
	}
	src, cleanup, err := Stage(model)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		cleanup()
		return nil, err
	}
	args := []string{"-m", src, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"-t", "2", "-np", "1", "--no-webui", "-c", "4096"}
	args = append(args, extra...)
	// Not CommandContext: the server must outlive ctx, which bounds only the start.
	cmd := exec.Command("chroot", append([]string{LlamaRoot(), "llama-server"}, args...)...)
	s := &LlamaServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, cleanup: cleanup,
		stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	if err := cmd.Start(); err != nil {
		cleanup()
		return nil, fmt.Errorf("oracle: start llama-server: %w", err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	for {
		select {
		case <-s.done:
			s.Close()
			return nil, fmt.Errorf("oracle: llama-server exited before it was healthy:\n%s", s.stderr.String())
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("oracle: llama-server not healthy: %w\n%s", ctx.Err(), s.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(s.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
	}
}

// StartLlamaServerT is StartLlamaServer for tests: it requires the oracle,
// fails t on error and stops the server when the test ends.
func StartLlamaServerT(t testing.TB, model string, extra ...string) *LlamaServer {
	t.Helper()
	Require(t, Llama)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := StartLlamaServer(ctx, model, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and removes the staged model. It is safe to call
// more than once.
func (s *LlamaServer) Close() {
	s.once.Do(func() {
		if s.cmd.Process != nil {
			s.cmd.Process.Signal(os.Interrupt)
			select {
			case <-s.done:
			case <-time.After(5 * time.Second):
				s.cmd.Process.Kill()
				<-s.done
			}
		}
		s.cleanup()
	})
}

// Log returns the tail of the server's output, for failure messages.
func (s *LlamaServer) Log() string { return s.stderr.String() }

func (s *LlamaServer) post(path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r, err := http.Post(s.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("oracle: llama-server %s: %w", path, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("oracle: llama-server %s: %w", path, err)
	}
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("oracle: llama-server %s: %s: %s", path, r.Status, tail(b, 500))
	}
	if err := json.Unmarshal(b, resp); err != nil {
		return fmt.Errorf("oracle: llama-server %s: %w: %s", path, err, tail(b, 500))
	}
	return nil
}

// Tokenize returns llama.cpp's token ids for text. addSpecial adds the
// model's BOS where it uses one; parseSpecial lets text such as
// "<|im_start|>" become special tokens.
func (s *LlamaServer) Tokenize(text string, addSpecial, parseSpecial bool) ([]int, error) {
	var resp struct {
		Tokens []int `json:"tokens"`
	}
	err := s.post("/tokenize", map[string]any{"content": text, "add_special": addSpecial, "parse_special": parseSpecial}, &resp)
	return resp.Tokens, err
}

// Detokenize returns the text of token ids.
func (s *LlamaServer) Detokenize(ids []int) (string, error) {
	var resp struct {
		Content string `json:"content"`
	}
	err := s.post("/detokenize", map[string]any{"tokens": ids}, &resp)
	return resp.Content, err
}

// TokenLogprob is one candidate token and its log-probability.
type TokenLogprob struct {
	ID      int     `json:"id"`
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
}

// Step is one generated token with the top candidates at its position.
// Top is nil where llama-server left the position out of its report: it
// drops the probabilities of a token whose bytes are not valid UTF-8
// (part of a character), though it generates the token.
type Step struct {
	TokenLogprob
	Top []TokenLogprob `json:"top_logprobs"`
}

// Complete runs greedy generation (temperature 0, no prompt cache) of n
// tokens after prompt (token ids) and returns, for each generated token, the
// top nProbs candidates with their log-probabilities under the model's raw
// distribution.
func (s *LlamaServer) Complete(prompt []int, n, nProbs int) ([]Step, error) {
	return s.complete(prompt, n, nProbs, nil)
}

func (s *LlamaServer) complete(prompt []int, n, nProbs int, ban []int) ([]Step, error) {
	var resp struct {
		Tokens []int  `json:"tokens"`
		Probs  []Step `json:"completion_probabilities"`
	}
	bias := [][]any{}
	for _, id := range ban {
		bias = append(bias, []any{id, false})
	}
	err := s.post("/completion", map[string]any{
		// Greedy: temperature 0 keeps only the most likely token (an empty
		// sampler list would drop that stage and sample at random).
		"prompt": prompt, "n_predict": n, "n_probs": nProbs, "temperature": 0, "top_k": 1,
		"repeat_penalty": 1, "presence_penalty": 0, "frequency_penalty": 0, "dry_multiplier": 0,
		"cache_prompt": false, "post_sampling_probs": false, "ignore_eos": true, "seed": 1,
		"return_tokens": true, "logit_bias": bias,
	}, &resp)
	if err != nil {
		return nil, err
	}
	// Every generated token, with its report where there is one: the
	// reports are the tokens' in order, less the dropped ones.
	steps := make([]Step, len(resp.Tokens))
	j := 0
	for i, id := range resp.Tokens {
		steps[i].ID = id
		if j < len(resp.Probs) && resp.Probs[j].ID == id {
			steps[i] = resp.Probs[j]
			j++
		}
	}
	if j != len(resp.Probs) {
		return nil, fmt.Errorf("oracle: llama-server reported %d token probabilities that do not follow its %d tokens", len(resp.Probs), len(resp.Tokens))
	}
	return steps, nil
}

// NextTokens returns the top nProbs next-token candidates after prompt.
func (s *LlamaServer) NextTokens(prompt []int, nProbs int) ([]TokenLogprob, error) {
	// Where the most likely token is part of a UTF-8 character,
	// llama-server drops the report; forbid that token to the sampler and
	// ask again. The reported log-probabilities are the raw distribution's,
	// before the sampler's bias, so they are the same.
	var ban []int
	for range 8 {
		steps, err := s.complete(prompt, 1, nProbs, ban)
		if err != nil {
			return nil, err
		}
		if len(steps) != 1 {
			return nil, fmt.Errorf("oracle: llama-server returned %d steps for n_predict 1", len(steps))
		}
		if steps[0].Top != nil {
			return steps[0].Top, nil
		}
		ban = append(ban, steps[0].ID)
	}
	return nil, fmt.Errorf("oracle: llama-server reported no probabilities after %d tries (tokens %v are parts of characters)", len(ban), ban)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
