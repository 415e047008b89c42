package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

// oneBuild is a binary built at most once per test run.
type oneBuild struct {
	once sync.Once
	bin  string
	err  error
}

var pithBuild, controlBuild oneBuild

// get builds cmd/pith as name with both experiments and the tags, the
// first time.
func (b *oneBuild) get(t *testing.T, name string, tags ...string) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "pith-e2e")
		if err != nil {
			b.err = err
			return
		}
		b.bin, b.err = Build(context.Background(), dir, name, "simd,runtimesecret", tags...)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

// pithBinary is cmd/pith as it ships.
func pithBinary(t *testing.T) string { return pithBuild.get(t, "pith") }

// controlBinary is the memory scan's control: pith with the pithnowipe
// tag (arena wipe, runtime/secret and the collection all off).
func controlBinary(t *testing.T) string { return controlBuild.get(t, "pith-nowipe", "pithnowipe") }

func startServe(t *testing.T, bin string, env ...string) *served {
	t.Helper()
	return startServeArgs(t, bin, env)
}

// unreadable are the kernel's pseudo-mappings that /proc/PID/mem cannot
// read, which hold no process data: the vDSO's data pages and the
// legacy vsyscall page.
var unreadable = map[string]bool{"[vvar]": true, "[vvar_vclock]": true, "[vsyscall]": true}

// scanServer scans process pid and fails the test if any other region
// could not be read, wholly or in part: memory the scan cannot see (a
// mapping the kernel will not read through /proc/PID/mem, such as
// memfd_secret's, or one unmapped under the scan) would otherwise pass
// as clean.
func scanServer(t *testing.T, pid int, needles []memscan.Needle, opts memscan.Options) *memscan.Result {
	t.Helper()
	res, err := memscan.Scan(pid, needles, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, sk := range res.Skipped {
		if !unreadable[sk.Region] {
			t.Fatalf("the scan could not read %d bytes of %s at %#x: %v", sk.End-sk.Start, sk.Region, sk.Start, sk.Err)
		}
	}
	return res
}

// staticOnly fails the test if process pid maps a shared library: the
// server under scan must be built as pith-init is (see Build).
func staticOnly(t *testing.T, pid int) {
	t.Helper()
	regions, err := memscan.ReadMaps(pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regions {
		if strings.Contains(filepath.Base(r.Name), ".so") {
			t.Fatalf("the server maps %s: it is not built as pith-init is (static, without cgo)", r.Name)
		}
	}
}

// serveMaxContext is the servers' --max-context.
const serveMaxContext = 1024

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
		"--listen", addr, "--write-dev-manifest", manifest, "--allow-unlocked", "--max-context", strconv.Itoa(serveMaxContext), "--rotate-keys", "0"}, extra...)
	p, err := Start(bin, env, "http://"+addr+"/healthz", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	staticOnly(t, p.Cmd.Process.Pid)
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

// forms are the needles of one request's content. shown are the forms the
// server holds while it works on the request (its text, its token ids, the
// context's JSON, the model's cached keys and values and activations, the
// exchange's HPKE secrets, the reply): the control run must find each of them right
// after its request, or the scan cannot see that form and the wiped run
// proves nothing about it. also are forms searched for as well that this
// server has no reason to make (UTF-16), which the control need not find.
type forms struct {
	shown, also []memscan.Needle
}

// canaryForms are text's forms: its bytes and UTF-16, and with tokenized
// its token ids as the arena holds them (int32 little-endian).
func (s *served) canaryForms(t *testing.T, name, text string, tokenized bool) forms {
	t.Helper()
	enc := memscan.Encodings(name, []byte(text))
	f := forms{shown: []memscan.Needle{enc[0]}, also: enc[1:]}
	if tokenized {
		f.shown = append(f.shown, memscan.Needle{Name: name + " token ids", Bytes: memscan.Int32LE(s.canaryIDs(t, text))})
	}
	return f
}

// canaryIDs are the token ids the server makes of text wherever it follows
// a space, which may join text's first token: that one is left out. Of 64
// random hex digits they are dozens, too many to turn up by chance.
func (s *served) canaryIDs(t *testing.T, text string) []int32 {
	t.Helper()
	ids := s.model.Tokenizer.Encode(" "+text, false, false)[1:]
	if len(ids) < 16 {
		t.Fatalf("a canary of %d bytes is only %d tokens: too short a needle", len(text), len(ids))
	}
	return ids
}

// scanRun scans a server after each of the canary requests. One scan at
// the end is not enough: every request's buffers start at the beginning of
// the same arena, so without the wipe each request overwrites the token
// ids of the one before, and the control would find only the last
// request's ids, never showing that the scan sees the others'.
type scanRun struct {
	t       *testing.T
	s       *served
	control bool
	all     []memscan.Needle // every needle so far, each once
	names   map[string]bool
	scans   int
	took    time.Duration
}

func (r *scanRun) add(ns []memscan.Needle) {
	for _, n := range ns {
		if !r.names[n.Name] {
			r.names[n.Name] = true
			r.all = append(r.all, n)
		}
	}
}

func (r *scanRun) scan(ns []memscan.Needle) *memscan.Result {
	r.t.Helper()
	start := time.Now()
	res := scanServer(r.t, r.s.proc.Cmd.Process.Pid, ns, memscan.Options{SkipUnreadable: true})
	r.scans++
	r.took += time.Since(start)
	return res
}

// after scans the server once the request named step has been answered.
// The control must hold each of f's shown forms; the wiped server must
// hold none of the needles of this or any earlier request.
func (r *scanRun) after(step string, f forms, replies ...string) {
	t := r.t
	t.Helper()
	for i, reply := range replies {
		// Whole replies of several tokens: single tokens are vocabulary entries.
		if len(reply) >= 24 {
			f.shown = append(f.shown, memscan.Needle{Name: step + " reply " + string(rune('A'+i)), Bytes: []byte(reply)})
		}
	}
	r.add(f.shown)
	r.add(f.also)
	if r.control {
		res := r.scan(f.shown)
		for i, n := range f.shown {
			if res.Counts[i] == 0 {
				t.Errorf("control: after the %s the scan finds no %s: it cannot see that form, so the wiped run proves nothing about it", step, n.Name)
			}
		}
		return
	}
	// The arena's wipe and the collection that erases the request's heap
	// objects can finish after the answer reached the client: a leak is
	// still there when the time is up.
	res, _ := memscan.Retry(5*time.Second, func() (*memscan.Result, error) { return r.scan(r.all), nil })
	if res.Total() != 0 {
		for _, l := range res.Describe() {
			t.Log(l)
		}
		t.Fatalf("after the %s, request content is left in the server's memory:\n%s", step, res)
	}
}

// everywhere scans the whole address space once more, the regions mapped
// without read permission too: /proc/PID/mem reads them, and memory that
// was put away (mprotect PROT_NONE) rather than wiped would still be
// there. The scans after each request leave them out because they are
// mostly reserved address space, over a GB that takes seconds to read
// each time; nothing is ever mapped there that was not first readable,
// so one scan at the end sees what any request left in them.
func (r *scanRun) everywhere() {
	r.t.Helper()
	res := scanServer(r.t, r.s.proc.Cmd.Process.Pid, r.all, memscan.Options{})
	r.t.Logf("scan of every region: %s", res)
	if res.Total() != 0 {
		for _, l := range res.Describe() {
			r.t.Log(l)
		}
		r.t.Fatalf("after every request, request content is left in the server's memory:\n%s", res)
	}
}

// exercise sends the canary requests, scanning after each: a summary
// (success) through each of the gateway's paths (chunked and one-message
// OHTTP), a sealed chat with a canary system prompt and stop string, a
// generation whose returned context (Ollama's, the prompt's token ids) is
// sent back in a second one, a streamed generation the client abandons
// mid-stream, a request refused mid-way (too long), and one refused with
// an error that quotes it (an unknown model's name).
func exercise(t *testing.T, s *served, control bool) *scanRun {
	ctx := context.Background()
	r := &scanRun{t: t, s: s, control: control, names: map[string]bool{}}
	conv, single, sealedText, sys, stop, kept, gone, refused, named := canary(t), canary(t), canary(t), canary(t), canary(t), canary(t), canary(t), canary(t), canary(t)

	convMsgs := []model.Message{{From: "Ann", Text: "the code is " + conv + " ok"}, {From: "Bo", Text: "noted"}}
	sum, err := s.client.Summarize(ctx, []client.Message{client.Message(convMsgs[0]), client.Message(convMsgs[1])}, 20)
	if err != nil {
		t.Fatalf("summarize: %v", err)
	}
	convForms := s.canaryForms(t, "conversation canary", conv, true)
	convForms.shown = append(convForms.shown, s.activationForms(t, "conversation canary", convMsgs, 20, conv)...)
	r.after("summary", convForms, sum.Summary)
	sum, err = s.unchunked.Summarize(ctx, []client.Message{{From: "Cy", Text: "the pin is " + single + " ok"}, {From: "Di", Text: "got it"}}, 20)
	if err != nil {
		t.Fatalf("unchunked summarize: %v", err)
	}
	r.after("unchunked summary", s.canaryForms(t, "unchunked conversation canary", single, true), sum.Summary)

	// The exchange's own secrets: with any of them a recording of the
	// request or its answer opens.
	secretForms, secretSummary := s.sealedBySecrets(t, sealedText)
	secretForms.shown = append(secretForms.shown, s.canaryForms(t, "sealed-by-hand canary", sealedText, true).shown...)
	r.after("summary sealed by hand", secretForms, secretSummary)

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
	chatForms := s.canaryForms(t, "system canary", sys, true)
	stopForms := s.canaryForms(t, "stop canary", stop, false)
	chatForms.shown = append(chatForms.shown, stopForms.shown...)
	chatForms.also = append(chatForms.also, stopForms.also...)
	r.after("chat", chatForms, reply.String())

	keptForms := s.generateWithContext(t, oc, kept)
	r.after("generation that returned a context", keptForms.forms)
	second := s.continueContext(t, oc, keptForms.context)
	r.after("generation continuing that context", forms{shown: keptForms.sentBack}, second)

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
	r.after("abandoned stream", s.canaryForms(t, "abandoned-stream canary", gone, true))

	// Refused after decryption: the prompt is above the token limit.
	long := strings.Repeat(refused+" ", 400)
	err = oc.Generate(ctx, &api.GenerateRequest{Model: "tiny", Prompt: long}, func(api.GenerateResponse) error { return nil })
	var se api.StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Fatalf("over-long prompt: %v", err)
	}
	r.after("refused request", s.canaryForms(t, "refused-request canary", refused, true))

	// Refused with an error that quotes the request: a model nobody has.
	_, err = oc.Show(ctx, &api.ShowRequest{Model: named})
	if !errors.As(err, &se) || se.StatusCode != 404 || !strings.Contains(se.ErrorMessage, named) {
		t.Fatalf("unknown model: %v", err)
	}
	r.after("error that quotes the request", s.canaryForms(t, "model-name canary", named, false))
	return r
}

// contextForms are a context canary's forms, those its context still has
// when sent back (its ids: in the arena, in JSON, and as the []int the
// request is decoded into; not its text), and the context that holds it.
type contextForms struct {
	forms
	sentBack []memscan.Needle
	context  []int
}

// generateWithContext sends a templated generation that carries text and
// returns its forms: the text, its token ids, and those ids as the JSON
// of the returned context writes them. The context must hold the ids
// the needles are made of, or the needles are not what the server makes.
func (s *served) generateWithContext(t *testing.T, oc *api.Client, text string) contextForms {
	t.Helper()
	var final api.GenerateResponse
	err := oc.Generate(context.Background(), &api.GenerateRequest{Model: "tiny", Prompt: "remember " + text,
		Options: map[string]any{"num_predict": 8, "temperature": 0}}, func(r api.GenerateResponse) error {
		if r.Done {
			final = r
		}
		return nil
	})
	if err != nil || !final.Done {
		t.Fatalf("generate with a context canary: %v", err)
	}
	ids := s.canaryIDs(t, text)
	got := make([]int32, len(final.Context))
	for i, id := range final.Context {
		got[i] = int32(id)
	}
	if !bytes.Contains(memscan.Int32LE(got), memscan.Int32LE(ids)) {
		t.Fatalf("the returned context does not hold the context canary's token ids as the needle makes them")
	}
	f := s.canaryForms(t, "context canary", text, false)
	sentBack := []memscan.Needle{
		{Name: "context canary token ids", Bytes: memscan.Int32LE(ids)},
		{Name: "context canary token ids in JSON", Bytes: memscan.DecimalIDs(ids)},
	}
	f.shown = append(f.shown, sentBack...)
	// Only the request that sends the context back decodes it.
	sentBack = append(sentBack, memscan.Needle{Name: "context canary token ids decoded ([]int)", Bytes: memscan.Int64LE(ids)})
	return contextForms{forms: f, sentBack: sentBack, context: final.Context}
}

// continueContext sends ctxIDs back, as Ollama's clients do for the next
// turn, unstreamed this time, and returns the answer.
func (s *served) continueContext(t *testing.T, oc *api.Client, ctxIDs []int) string {
	t.Helper()
	stream := false
	var final api.GenerateResponse
	err := oc.Generate(context.Background(), &api.GenerateRequest{Model: "tiny", Prompt: "and then?", Context: ctxIDs, Stream: &stream,
		Options: map[string]any{"num_predict": 8, "temperature": 0}}, func(r api.GenerateResponse) error {
		final = r
		return nil
	})
	if err != nil || !final.Done {
		t.Fatalf("generate continuing a context: %v", err)
	}
	if len(final.Context) <= len(ctxIDs) {
		t.Fatalf("the continued generation returned a context of %d ids, sent %d", len(final.Context), len(ctxIDs))
	}
	return final.Response
}

// TestMemoryScan is the proof of the memory discipline: after each of
// several requests that succeed, fail and are abandoned, no canary they
// carried, in any form, and no reply text, is anywhere in the server's
// address space. The control build (pithnowipe: arena wipe, runtime/secret
// and the collection all off) must find every form the server makes of
// each, or the scan proves nothing.
func TestMemoryScan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs pith serve twice")
	}
	bin, control := pithBinary(t), controlBinary(t)

	t.Run("wiped", func(t *testing.T) {
		s := startServe(t, bin)
		pid := s.proc.Cmd.Process.Pid
		written, err := WriteBytes(pid)
		if err != nil {
			t.Fatal(err)
		}
		r := exercise(t, s, false)
		t.Logf("%d scans (%s) found none of %d needles", r.scans, r.took.Round(time.Millisecond), len(r.all))
		r.everywhere()
		// Nothing is written to disk: no file page dirtied during the
		// requests. (A tmpfs file is not counted here; such a file's
		// pages are not in the process either, so neither check sees it.)
		if after, err := WriteBytes(pid); err != nil || after != written {
			t.Fatalf("the server wrote %d bytes to disk while it served the requests (%v)", after-written, err)
		}
		checkLog(t, s.proc.Log(), r.all)
	})
	t.Run("control without wiping", func(t *testing.T) {
		s := startServe(t, control, "PITH_NOWIPE_CONTROL=1")
		r := exercise(t, s, true)
		t.Logf("control: %d scans (%s)", r.scans, r.took.Round(time.Millisecond))
	})
}

// checkLog: the server's log carries no content.
func checkLog(t *testing.T, log string, needles []memscan.Needle) {
	for _, n := range needles {
		if strings.Contains(log, string(n.Bytes)) {
			t.Errorf("server log contains the %s", n.Name)
		}
	}
}

// TestMemoryScanTimedOut: a generation the server stops at its request
// time limit (--timeout) leaves nothing either, and the control finds
// the canary's forms after it.
func TestMemoryScanTimedOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs pith serve twice")
	}
	bothBuilds(t, []string{"--timeout", "100ms"}, func(t *testing.T, s *served, r *scanRun) {
		late := canary(t)
		oc := api.NewClient(client.BaseURL, s.client.HTTPClient())
		stream := false
		err := oc.Generate(context.Background(), &api.GenerateRequest{Model: "tiny", Prompt: "go on about " + late, Stream: &stream,
			Options: map[string]any{"num_predict": 2000, "num_ctx": serveMaxContext, "temperature": 0}}, func(api.GenerateResponse) error { return nil })
		var se api.StatusError
		if !errors.As(err, &se) || se.StatusCode != 504 {
			t.Fatalf("a generation past the server's time limit: %v, want 504", err)
		}
		r.after("timed-out request", s.canaryForms(t, "timed-out canary", late, true))
	})
}

// TestMemoryScanConcurrent: summaries that run at the same time, each in
// its own arena (--concurrent 2), leave nothing either, and the control
// finds each one's canary after them.
func TestMemoryScanConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs pith serve twice")
	}
	bothBuilds(t, []string{"--concurrent", "2"}, func(t *testing.T, s *served, r *scanRun) {
		texts := []string{canary(t), canary(t)}
		replies := make([]string, len(texts))
		errs := make([]error, len(texts))
		var wg sync.WaitGroup
		for i, text := range texts {
			wg.Go(func() {
				sum, err := s.client.Summarize(context.Background(), []client.Message{{From: "Gus", Text: "the key is " + text + " ok"}, {From: "Hal", Text: "sure"}}, 20)
				if err == nil {
					replies[i] = sum.Summary
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, text := range texts {
			if errs[i] != nil {
				t.Fatalf("concurrent summary %d: %v", i, errs[i])
			}
			r.after(fmt.Sprintf("concurrent summary %d", i), s.canaryForms(t, fmt.Sprintf("concurrent canary %d", i), text, true), replies[i])
		}
	})
}

// bothBuilds runs steps against the shipped build and the control, each
// served with the extra serve arguments; the shipped one is then scanned
// whole once more (scanRun.everywhere) and its log checked for content.
func bothBuilds(t *testing.T, extra []string, steps func(t *testing.T, s *served, r *scanRun)) {
	for _, tc := range []struct {
		name    string
		bin     string
		env     []string
		control bool
	}{
		{"wiped", pithBinary(t), nil, false},
		{"control without wiping", controlBinary(t), []string{"PITH_NOWIPE_CONTROL=1"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServeArgs(t, tc.bin, tc.env, extra...)
			r := &scanRun{t: t, s: s, control: tc.control, names: map[string]bool{}}
			steps(t, s, r)
			if !tc.control {
				r.everywhere()
				checkLog(t, s.proc.Log(), r.all)
			}
		})
	}
}
