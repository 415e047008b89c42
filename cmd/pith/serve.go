package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/runtime/harden"
	"github.com/pith-project/pith/runtime/server"
)

func init() {
	var (
		modelPath, sha, name, listen, attestMode, manifestPath, devManifest string
		plaintext, allowUnlocked                                            bool
		queue, concurrent, maxCtx, maxConns, threads                        int
		cache                                                               model.CacheType
		rotate, timeout, writeTimeout                                       time.Duration
	)
	register(&command{
		Name:  "serve",
		Short: "serve sealed requests (the enclave's server, on this machine)",
		Usage: "pith serve [--model FILE] [--listen ADDR] [--attest auto|dev] [flags]",
		Help: `Runs the same server that pith-init runs inside the confidential VM:
GET /v1/attestation?nonce=HEX (the hardware report binding the OHTTP keys),
GET /.well-known/ohttp-gateway (the keys) and POST /v1/ohttp (sealed
Ollama API calls and /v1/summarize). Clients verify it first: use
'pith summarize', 'pith proxy' or the Go library in client/.

--attest auto uses SEV-SNP or TDX when the machine is a confidential guest,
and fails otherwise. --attest dev uses the development stand-in, which signs
with a key made at start-up and PROVES NOTHING: clients refuse it unless
told --allow-dev. --write-dev-manifest writes the manifest such a client
needs (this binary's measurement and the model's digest).

--plaintext also serves the unsealed Ollama API (/api/...) for development
and benchmarks; it is refused on a non-loopback address.

Example:
  pith serve --model qwen2.5-0.5b-instruct-q4_0.gguf --attest dev \
      --write-dev-manifest /tmp/manifest.json
  pith summarize --url http://127.0.0.1:8080 --manifest /tmp/manifest.json --allow-dev chat.txt`,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&modelPath, "model", "", "GGUF model file (default $PITH_MODEL or the demo model)")
			fs.StringVar(&sha, "sha256", "", "check the model's SHA-256 (hex) before use")
			fs.StringVar(&name, "name", "", "model name the Ollama API answers to (default from the file)")
			fs.StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
			fs.StringVar(&attestMode, "attest", "auto", "attestation: auto (SEV-SNP or TDX), sev-snp, tdx, or dev (proves nothing)")
			fs.StringVar(&manifestPath, "manifest", "", "image manifest to serve inside attestation documents")
			fs.StringVar(&devManifest, "write-dev-manifest", "", "with --attest dev: write a manifest for this server to FILE")
			fs.BoolVar(&plaintext, "plaintext", false, "also serve the unsealed Ollama API (loopback only)")
			fs.BoolVar(&allowUnlocked, "allow-unlocked", false, "run even if request memory cannot be locked (may be swapped)")
			fs.IntVar(&queue, "queue", server.DefaultLimits().Queue, "requests admitted at once; more get 503")
			fs.IntVar(&concurrent, "concurrent", server.DefaultLimits().Concurrent, "generations at once")
			fs.IntVar(&maxCtx, "max-context", server.DefaultLimits().MaxContext, "largest num_ctx a request may ask for")
			fs.IntVar(&maxConns, "max-conns", 0, fmt.Sprintf("connections held open at once, at least --queue; more wait in the listen backlog (default %d, or --queue if larger)", server.DefaultLimits().MaxConns))
			fs.IntVar(&threads, "threads", runtime.NumCPU(), "cores to use, at most 4 per core (the default is all of this machine's)")
			cacheTypeVar(fs, &cache, "")
			fs.DurationVar(&rotate, "rotate-keys", 24*time.Hour, "OHTTP key rotation period (0: never)")
			fs.DurationVar(&timeout, "timeout", server.DefaultLimits().RequestTimeout, "longest a request may run")
			fs.DurationVar(&writeTimeout, "write-timeout", server.DefaultLimits().WriteTimeout, "longest one write of an answer may wait for the client to take it")
		},
		Run: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			if plaintext && !server.IsLoopback(listen) {
				return usagef("--plaintext is for loopback only, not %s", listen)
			}
			if plaintext && os.Getpid() == 1 {
				return usagef("--plaintext is refused in PID 1")
			}
			if devManifest != "" && attestMode != "dev" {
				return usagef("--write-dev-manifest needs --attest dev")
			}
			if err := checkThreads("--threads", threads); err != nil {
				return err
			}
			if err := checkServeLimits(queue, concurrent, maxCtx, maxConns, timeout, writeTimeout, rotate); err != nil {
				return err
			}
			if err := checkModelFile(modelPath); err != nil {
				return err
			}
			if manifestPath != "" {
				if err := checkManifestFile(manifestPath); err != nil {
					return err
				}
			}
			if err := harden.Apply(); err != nil {
				return err
			}
			if threads != kernels.Threads() {
				kernels.SetThreads(threads)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			if modelPath == "" {
				modelPath = defaultModelPath()
			}
			m, err := openModel(modelPath, sha)
			if err != nil {
				return err
			}
			m.Cache = cache
			info, err := describeModel(modelPath, m)
			if err != nil {
				return err
			}
			if name == "" {
				name = info.name
			}
			p, err := attest.Open(ctx, attestMode, log)
			if err != nil {
				return fmt.Errorf("%w\n(on a machine that is not a confidential VM, --attest dev runs the development stand-in)", err)
			}
			var manifest []byte
			if manifestPath != "" {
				if manifest, _, err = readManifest(manifestPath); err != nil {
					return err
				}
			}
			if devManifest != "" {
				if err := writeDevManifest(devManifest, info); err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "wrote %s (development manifest: proves nothing)\n", devManifest)
			}
			s, err := server.New(server.Config{
				Model: m, ModelName: name, ModelDigest: "sha256:" + info.sha256, ModelSize: info.size, ModelTime: info.mtime, Version: version,
				Attest: p, Manifest: manifest, KeyRotation: rotate, Limits: serveLimits(queue, concurrent, maxCtx, maxConns, timeout, writeTimeout),
				AllowUnlockedArena: allowUnlocked, Logger: log,
			})
			if err != nil {
				if strings.Contains(err.Error(), "lock") && !allowUnlocked {
					err = fmt.Errorf("%w\n(run as root, raise RLIMIT_MEMLOCK, or pass --allow-unlocked on a development host)", err)
				}
				return err
			}
			defer s.Close()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "pith serve: %s on http://%s (attestation %s%s)\n", name, ln.Addr(), p.Platform(), map[bool]string{true: ", plaintext API on", false: ""}[plaintext])
			return s.Serve(ctx, ln, plaintext, 30*time.Second)
		},
	})
}

// checkServeLimits refuses serve's limit flags that the server cannot
// run with, naming the flag, before the model is loaded: a zero context or
// timeout would fail every request, a negative rotation means nothing,
// and server.New's own message for the queue speaks of fields, not flags.
// A zero --write-timeout is refused too: server.Limits would read it as
// its default, not as "no limit", which it does not have.
func checkServeLimits(queue, concurrent, maxCtx, maxConns int, timeout, writeTimeout, rotate time.Duration) error {
	switch {
	case concurrent < 1:
		return usagef("--concurrent %d: give at least 1 generation at once", concurrent)
	case queue < concurrent:
		return usagef("--queue %d is below --concurrent %d: the queue counts the running generations too", queue, concurrent)
	case maxCtx < 1:
		return usagef("--max-context %d: give at least 1 token", maxCtx)
	case maxConns != 0 && maxConns < queue:
		return usagef("--max-conns %d is below --queue %d: every admitted request holds a connection", maxConns, queue)
	case timeout <= 0:
		return usagef("--timeout %s: give a positive duration such as 10m", timeout)
	case writeTimeout <= 0:
		return usagef("--write-timeout %s: give a positive duration such as 30s", writeTimeout)
	case rotate < 0:
		return usagef("--rotate-keys %s: give a positive duration such as 24h, or 0 never to rotate", rotate)
	}
	return nil
}

// serveLimits are the server's limits as serve's flags set them (checked
// by checkServeLimits), the rest at their defaults.
func serveLimits(queue, concurrent, maxCtx, maxConns int, timeout, writeTimeout time.Duration) server.Limits {
	lim := server.DefaultLimits()
	lim.Queue, lim.Concurrent, lim.MaxContext, lim.MaxConns = queue, concurrent, maxCtx, maxConns
	lim.RequestTimeout, lim.WriteTimeout = timeout, writeTimeout
	lim.DefaultContext = min(lim.DefaultContext, maxCtx)
	return lim
}

type modelInfo struct {
	name, sha256 string
	size         int64
	mtime        time.Time
}

// describeModel reads what the Ollama API reports about the model file:
// its digest (the whole file is hashed), size and time; the server counts
// the parameters and names the type itself.
func describeModel(path string, m *model.Model) (modelInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return modelInfo{}, err
	}
	// openModel read the file whole and hashed it before loading
	// rewrote any weights in place.
	sum := m.File.SHA256
	info := modelInfo{sha256: hex.EncodeToString(sum[:]), size: st.Size(), mtime: st.ModTime().UTC()}
	base := strings.TrimSuffix(filepath.Base(path), ".gguf")
	info.name = strings.ToLower(base) + ":latest"
	return info, nil
}

// writeDevManifest writes the manifest a client needs to check the
// development stand-in of this very binary: its measurement and the model.
func writeDevManifest(path string, info modelInfo) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	meas, err := attest.DevMeasurement(exe)
	if err != nil {
		return err
	}
	m := attest.Manifest{
		Format:  attest.ManifestFormat,
		Version: version,
		Model:   &attest.Artifact{Name: info.name, SHA256: info.sha256, Size: info.size},
		Dev:     &attest.DevEntry{Measurement: meas},
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
