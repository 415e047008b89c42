package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/client"
	"github.com/pith-project/pith/client/conversation"
	"github.com/pith-project/pith/runtime/server"
)

// enclaveFlags are the flags every command that talks to an enclave shares.
type enclaveFlags struct {
	url, relay, attestationURL, manifest string
	allowDev                             bool
	verifyTimeout                        time.Duration
	floor                                floorFlags
}

func (e *enclaveFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&e.url, "url", "", "the enclave's base URL, e.g. http://127.0.0.1:8080")
	fs.StringVar(&e.relay, "relay", "", "send sealed requests through this OHTTP relay URL")
	fs.StringVar(&e.attestationURL, "attestation-url", "", "fetch the attestation document (GET /v1/attestation) from this base `URL`\ninstead of --url: with --relay, a plain forwarder beside the relay, so that\nthe enclave never sees this machine's address (the document proves itself;\nthe forwarder need not be trusted)")
	fs.StringVar(&e.manifest, "manifest", "", "manifest.json with the expected measurements (from 'pith image build')")
	fs.BoolVar(&e.allowDev, "allow-dev", false, "accept the development stand-in, which proves nothing")
	fs.DurationVar(&e.verifyTimeout, "verify-timeout", 2*time.Minute, "give up verifying the enclave (fetching its attestation and any collateral)\nafter this long: a relay or host that stalls must not hang the command")
	e.floor.declare(fs)
}

// check refuses a call without the flags connect needs, so that a
// command can say so before it reads its input.
func (e *enclaveFlags) check() error {
	if e.url == "" {
		return usagef("--url is required")
	}
	if e.manifest == "" {
		return usagef("--manifest is required: it holds the measurements the enclave must match")
	}
	if e.verifyTimeout <= 0 {
		return usagef("--verify-timeout must be positive")
	}
	if err := e.floor.apply(&attest.Policy{}); err != nil {
		return err
	}
	return checkManifestFile(e.manifest)
}

// connect verifies the enclave and says what was proven, on stderr.
func (e *enclaveFlags) connect(ctx context.Context, unchunked bool) (*client.Client, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	_, m, err := readManifest(e.manifest)
	if err != nil {
		return nil, err
	}
	pol := attest.DefaultPolicy()
	pol.AllowDev = e.allowDev
	if err := e.floor.apply(&pol); err != nil {
		return nil, err
	}
	vctx, cancel := context.WithTimeout(ctx, e.verifyTimeout)
	defer cancel()
	c, err := client.New(vctx, client.Options{URL: e.url, RelayURL: e.relay, AttestationURL: e.attestationURL, Manifest: m, Policy: pol, Unchunked: unchunked})
	if err != nil {
		return nil, flagTimedOut(ctx, err, "verifying the enclave took longer than --verify-timeout %v", e.verifyTimeout)
	}
	res := c.Attestation()
	fmt.Fprintf(os.Stderr, "%s\n", firstLine(res.Proven))
	if e.relay != "" && (e.attestationURL == "" || strings.TrimRight(e.attestationURL, "/") == strings.TrimRight(e.url, "/")) {
		fmt.Fprintf(os.Stderr, "pith: the enclave saw this machine's address when it was verified; --attestation-url (a forwarder such as pith relay) keeps it from ever seeing it\n")
	}
	return c, nil
}

// flagTimedOut prefixes err with what the flag's deadline cut short (the
// format and args) when that deadline, not ctx, ran out: a bare "context
// deadline exceeded" would not say which flag to change.
func flagTimedOut(ctx context.Context, err error, format string, args ...any) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	return err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func init() {
	var (
		ef       enclaveFlags
		maxWords int
		verbose  bool
		timeout  time.Duration
	)
	register(&command{
		Name:  "summarize",
		Short: "summarise a conversation in a verified enclave, sealed end to end",
		Usage: "pith summarize --url URL --manifest FILE [--relay URL [--attestation-url URL]] [--allow-dev] [CONVERSATION | -]",
		Help: `Verifies the enclave at --url against --manifest (hardware signature chain,
policy, launch measurement, and the binding of its key to a fresh nonce),
then seals the conversation to that key with Oblivious HTTP and prints the
summary. Nothing leaves this machine unsealed. With --relay the sealed
request goes through an OHTTP relay, which sees this machine but not the
conversation; add --attestation-url (a forwarder of GET /v1/attestation
beside the relay) and the enclave never sees this machine's address.

The conversation is read from the file (or stdin): JSON
([{"from":..,"text":..}] or {"messages":[..]}), "Name: text" lines, or a
WhatsApp chat export ("[dd/mm/yyyy, hh:mm:ss] Name: text", multi-line
messages included).

Example:
  pith summarize --url http://127.0.0.1:8080 --manifest manifest.json chat.txt
  cat export.txt | pith summarize --url https://enclave.example --manifest m.json -
  pith summarize --url https://enclave.example --relay https://relay.example/v1/ohttp \
      --attestation-url https://relay.example --manifest m.json chat.txt   # pith relay`,
		Flags: func(fs *flag.FlagSet) {
			ef.declare(fs)
			fs.IntVar(&maxWords, "max-words", 80, "summary length limit in words")
			fs.BoolVar(&verbose, "verbose", false, "print token counts and timings at the end")
			fs.DurationVar(&timeout, "timeout", 10*time.Minute, "give up on the summary after this long (0: wait as long as it takes); the\nenclave's queue and a long conversation on a CPU can take minutes")
		},
		Run: func(ctx context.Context, args []string) error {
			if len(args) > 1 {
				return usagef("give one conversation file (or - for stdin)")
			}
			// The flags first: a call without them must not wait for
			// a conversation on stdin that it would then refuse.
			if err := ef.check(); err != nil {
				return err
			}
			if timeout < 0 {
				return usagef("--timeout must not be negative")
			}
			src := "-"
			if len(args) == 1 {
				src = args[0]
			}
			data, err := readArg(ctx, src)
			if err != nil {
				return err
			}
			conv, format, err := conversation.Parse(data)
			if err != nil {
				return err
			}
			c, err := ef.connect(ctx, true)
			if err != nil {
				return err
			}
			msgs := make([]client.Message, len(conv))
			for i, m := range conv {
				msgs[i] = client.Message{From: m.From, Text: m.Text}
			}
			fmt.Fprintf(os.Stderr, "pith: summarising %d messages (%s), sealed\n", len(msgs), format)
			start := time.Now()
			sctx := ctx
			if timeout > 0 {
				var cancel context.CancelFunc
				sctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			s, err := c.Summarize(sctx, msgs, maxWords)
			if err != nil {
				return flagTimedOut(ctx, err, "no summary within --timeout %v", timeout)
			}
			fmt.Println(s.Summary)
			if verbose {
				fmt.Fprintf(os.Stderr, "prompt %d tokens, summary %d tokens; enclave %.2fs, round trip %.2fs\n",
					s.PromptEvalCount, s.EvalCount, s.TotalDuration.Seconds(), time.Since(start).Seconds())
			}
			return nil
		},
	})

	var (
		pf     enclaveFlags
		listen string
	)
	register(&command{
		Name:  "proxy",
		Short: "a local Ollama endpoint that forwards every call sealed to a verified enclave",
		Usage: "pith proxy --url URL --manifest FILE [--relay URL [--attestation-url URL]] [--listen 127.0.0.1:11434]",
		Help: `Verifies the enclave once (and again whenever it rotates its keys), then
serves the Ollama API unsealed on a loopback address and forwards every
call sealed with Oblivious HTTP, streaming included. Existing Ollama
clients work unchanged: point them at the proxy (OLLAMA_HOST).

With --relay, the enclave sees this machine's address only at start-up,
when the proxy fetches the attestation from --url; with --attestation-url
pointing at a forwarder of GET /v1/attestation beside the relay, not even
then. Later verifications go through the relay, sealed, every ten minutes.

Example:
  pith proxy --url http://127.0.0.1:8080 --manifest manifest.json --allow-dev &
  OLLAMA_HOST=127.0.0.1:11434 ollama run qwen2.5:0.5b "hello"`,
		Flags: func(fs *flag.FlagSet) {
			pf.declare(fs)
			fs.StringVar(&listen, "listen", "127.0.0.1:11434", "loopback address to serve the Ollama API on")
		},
		Run: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			if !server.IsLoopback(listen) {
				return usagef("--listen must be a loopback address: the proxy serves plaintext")
			}
			c, err := pf.connect(ctx, false)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "pith proxy: Ollama API on http://%s, sealed to %s\n", ln.Addr(), pf.url)
			if pf.relay != "" {
				go refreshEvery(ctx, c, proxyRefresh, pf.verifyTimeout)
			}
			hs := &http.Server{Handler: proxyHandler(c), ReadHeaderTimeout: 10 * time.Second,
				ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
			return serveUntil(ctx, hs, ln, "", "")
		},
	})
}

// proxyRefresh is how often a proxy with a relay verifies the enclave
// again through it: well inside the enclave's key grace period (an hour
// by default), so that an idle proxy's key never expires, which it would
// answer with client.ErrKeyExpired rather than verify the enclave directly
// beside a request.
const proxyRefresh = 10 * time.Minute

// refreshEvery calls c.Refresh every period until ctx ends, each call
// given at most limit: a relay that stalls one must not stop the next.
func refreshEvery(ctx context.Context, c *client.Client, period, limit time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, limit)
			_, err := c.Refresh(rctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				slog.Warn("verifying the enclave again through the relay failed", "err", err)
			}
		}
	}
}

// proxyHandler forwards each request sealed and copies the answer back as
// it arrives, flushing every piece so streamed generations stay streamed.
func proxyHandler(c *client.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := c.RoundTrip(out)
		if err != nil {
			var busy *client.BusyError
			if errors.As(err, &busy) {
				w.Header().Set("Retry-After", busy.RetryAfter)
				http.Error(w, `{"error":"the enclave is busy"}`, http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "{\"error\":%q}\n", err.Error())
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		f, _ := w.(http.Flusher)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				if f != nil {
					f.Flush()
				}
			}
			if err != nil {
				if err != io.EOF {
					// A stream cut short: the client sees a truncated body,
					// never a forged end.
					slog.Warn("sealed stream ended early", "err", err)
				}
				return
			}
		}
	})
}

// serveUntil serves hs on ln until ctx ends, then shuts it down, giving
// the requests in flight five seconds; with certFile and keyFile, over TLS.
func serveUntil(ctx context.Context, hs *http.Server, ln net.Listener, certFile, keyFile string) error {
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	var err error
	if certFile != "" {
		err = hs.ServeTLS(ln, certFile, keyFile)
	} else {
		err = hs.Serve(ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
