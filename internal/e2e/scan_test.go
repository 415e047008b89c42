package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/client"
	"github.com/pith-project/pith/internal/memscan"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
)

// canary is 32 random bytes written as 64 hex digits: text nobody else
// has, that tokenizes as itself wherever it appears after a space.
func canary(t *testing.T) string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// served is a running `pith serve` with a client verified against it.
type served struct {
	proc   *Proc
	url    string
	client *client.Client
	// unchunked seals each request as one RFC 9458 message (the server's
	// other gateway path), where client chunks them.
	unchunked *client.Client
	model     *model.Model // the same file, loaded here to tokenize canaries
	// manifest is the development manifest the server wrote.
	manifest string
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// pithBinary builds cmd/pith once per test run, with both experiments.
func pithBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pith-e2e")
		if err != nil {
			buildErr = err
			return
		}
		builtBin, buildErr = Build(context.Background(), dir, "pith", "simd,runtimesecret")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func startServe(t *testing.T, bin string, env ...string) *served {
	t.Helper()
	return startServeArgs(t, bin, env)
}

func startServeArgs(t *testing.T, bin string, env []string, extra ...string) *served {
	t.Helper()
	dir := t.TempDir()
	mpath, err := TinyModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "manifest.json")
	args := append([]string{"serve", "--model", mpath, "--attest", "dev",
		"--listen", addr, "--write-dev-manifest", manifest, "--allow-unlocked", "--max-context", "1024", "--rotate-keys", "0"}, extra...)
	p, err := Start(bin, env, "http://"+addr+"/healthz", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	raw, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := attest.ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	pol := attest.DefaultPolicy()
	pol.AllowDev = true
	c, err := client.New(context.Background(), client.Options{URL: "http://" + addr, Manifest: m, Policy: pol})
	if err != nil {
		t.Fatalf("verify: %v\nserver log:\n%s", err, p.Log())
	}
	cu, err := client.New(context.Background(), client.Options{URL: "http://" + addr, Manifest: m, Policy: pol, Unchunked: true})
	if err != nil {
		t.Fatalf("verify: %v\nserver log:\n%s", err, p.Log())
	}
	f, err := gguf.ReadFile(mpath, "")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := model.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return &served{proc: p, url: "http://" + addr, client: c, unchunked: cu, model: mod, manifest: manifest}
}

// needles are the forms a canary can take in the server: its text (UTF-8
// and UTF-16) and its token ids (int32 little-endian, as the arena holds them).
func (s *served) needles(name, text string) []memscan.Needle {
	ns := memscan.Encodings(name, []byte(text))
	ids := s.model.Tokenizer.Encode(" "+text, false, false)
	if len(ids) >= 4 {
		// Drop the first token (the space may join it) and keep the rest.
		ns = append(ns, memscan.Needle{Name: name + " token ids", Bytes: memscan.Int32LE(ids[1:])})
	}
	return ns
}

type scanCase struct {
	needles []memscan.Needle
	replies []string // response texts, also searched for
}

// exercise sends the canary requests: a summary (success) through each of
// the gateway's paths (chunked and one-message OHTTP), a sealed chat with
// a canary system prompt and stop string, a streamed generation the client
// abandons mid-stream, and a request refused mid-way (too long).
func exercise(t *testing.T, s *served) scanCase {
	ctx := context.Background()
	var sc scanCase
	conv, single, sys, stop, gone, refused := canary(t), canary(t), canary(t), canary(t), canary(t), canary(t)
	sc.needles = append(sc.needles, s.needles("conversation canary", conv)...)
	sc.needles = append(sc.needles, s.needles("unchunked conversation canary", single)...)
	sc.needles = append(sc.needles, s.needles("system canary", sys)...)
	sc.needles = append(sc.needles, memscan.Encodings("stop canary", []byte(stop))...)
	sc.needles = append(sc.needles, s.needles("abandoned-stream canary", gone)...)
	sc.needles = append(sc.needles, s.needles("refused-request canary", refused)...)

	sum, err := s.client.Summarize(ctx, []client.Message{{From: "Ann", Text: "the code is " + conv + " ok"}, {From: "Bo", Text: "noted"}}, 20)
	if err != nil {
		t.Fatalf("summarize: %v", err)
	}
	sc.replies = append(sc.replies, sum.Summary)
	sum, err = s.unchunked.Summarize(ctx, []client.Message{{From: "Cy", Text: "the pin is " + single + " ok"}, {From: "Di", Text: "got it"}}, 20)
	if err != nil {
		t.Fatalf("unchunked summarize: %v", err)
	}
	sc.replies = append(sc.replies, sum.Summary)

	oc := api.NewClient(client.BaseURL, s.client.HTTPClient())
	var reply strings.Builder
	stream := false
	err = oc.Chat(ctx, &api.ChatRequest{Model: "tiny", Stream: &stream, Messages: []api.Message{
		{Role: "system", Content: "secret: " + sys}, {Role: "user", Content: "hello"}},
		Options: map[string]any{"num_predict": 24, "stop": []string{stop}, "temperature": 0}},
		func(r api.ChatResponse) error { reply.WriteString(r.Message.Content); return nil })
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	sc.replies = append(sc.replies, reply.String())

	// A streamed generation that the client abandons after two pieces.
	cctx, cancel := context.WithCancel(ctx)
	pieces := 0
	err = oc.Generate(cctx, &api.GenerateRequest{Model: "tiny", Prompt: "tell me about " + gone,
		Options: map[string]any{"num_predict": 200}}, func(r api.GenerateResponse) error {
		pieces++
		if pieces == 2 {
			cancel()
		}
		return nil
	})
	if pieces < 2 {
		// (err may be nil: the model can end on its own as it is cancelled.)
		t.Fatalf("abandoned stream: %d pieces, err %v", pieces, err)
	}
	cancel()

	// Refused after decryption: the prompt is above the token limit.
	long := strings.Repeat(refused+" ", 400)
	err = oc.Generate(ctx, &api.GenerateRequest{Model: "tiny", Prompt: long}, func(api.GenerateResponse) error { return nil })
	var se api.StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Fatalf("over-long prompt: %v", err)
	}
	// Give the server a moment to finish the abandoned request's way out.
	time.Sleep(500 * time.Millisecond)
	return sc
}

func (sc scanCase) allNeedles() []memscan.Needle {
	ns := append([]memscan.Needle(nil), sc.needles...)
	for i, r := range sc.replies {
		// Whole replies of several tokens: single tokens are vocabulary entries.
		if len(r) >= 24 {
			ns = append(ns, memscan.Needle{Name: "reply " + string(rune('A'+i)), Bytes: []byte(r)})
		}
	}
	return ns
}

// TestMemoryScan is the proof of the memory discipline: after requests
// that succeed, fail and are abandoned, no canary they carried, in any
// form, and no reply text, is anywhere in the server's address space.
// The control build (pithnowipe: arena wipe, runtime/secret and the
// collection all off) must find them, or the scan proves nothing.
func TestMemoryScan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs pith serve twice")
	}
	dir := t.TempDir()
	ctx := context.Background()
	bin := pithBinary(t)
	control, err := Build(ctx, dir, "pith-nowipe", "simd,runtimesecret", "pithnowipe")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("wiped", func(t *testing.T) {
		s := startServe(t, bin)
		sc := exercise(t, s)
		res, err := memscan.Scan(s.proc.Cmd.Process.Pid, sc.allNeedles(), memscan.Options{SkipUnreadable: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("scanned %d MB in %d regions (%d skipped): %d hits for %d needles", res.BytesScanned>>20, res.Regions, res.RegionsSkipped, res.Total(), len(sc.allNeedles()))
		if res.Total() != 0 {
			for _, h := range res.Hits {
				t.Logf("hit: %s at %#x in %s (%s)", h.Name, h.Addr, h.Region, h.Perms)
			}
			t.Fatalf("request content left in the server's memory:\n%s", res)
		}
		checkLog(t, s.proc.Log(), sc)
	})
	t.Run("control without wiping", func(t *testing.T) {
		s := startServe(t, control, "PITH_NOWIPE_CONTROL=1")
		sc := exercise(t, s)
		res, err := memscan.Scan(s.proc.Cmd.Process.Pid, sc.allNeedles(), memscan.Options{SkipUnreadable: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("control: scanned %d MB: %d hits", res.BytesScanned>>20, res.Total())
		if res.Total() == 0 {
			t.Fatal("the control run found no canary: the scan cannot see request content, so the wiped run proves nothing")
		}
	})
}

// checkLog: the server's log carries no content.
func checkLog(t *testing.T, log string, sc scanCase) {
	for _, n := range sc.needles {
		if strings.Contains(log, string(n.Bytes)) {
			t.Errorf("server log contains the %s", n.Name)
		}
	}
	for _, r := range sc.replies {
		if len(r) >= 24 && strings.Contains(log, r) {
			t.Error("server log contains a reply")
		}
	}
}
