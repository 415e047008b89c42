// Command pith-init is PID 1 of the pith confidential VM image, and its whole
// userland: there is no shell, no SSH, no debug endpoint and nothing else to
// run. `pith image build` compiles it (static, CGO_ENABLED=0, -trimpath
// -buildvcs=false -ldflags=-buildid=) into /init of the measured initramfs.
//
// What it does, in order: refuse an environment the kernel command line
// added to (pid1.CheckEnviron); harden the process (runtime/harden); mount the
// pseudo file systems, load the kernel modules named on the measured command
// line and bring the network up, static or by DHCP (pid1.Boot); turn off
// the magic SysRq key, which the host could press on the serial console
// (pid1.DisableSysRq); load the confidential-computing
// guest drivers the platform has (sev-guest, tdx-guest: a driver for the
// other vendor refuses to load with ENODEV, which is expected); read the
// model from the raw virtio disk wholly into memory and check it against the
// SHA-256 on the measured command line (a mismatch powers off with the two
// digests on the console); then serve until SIGTERM, SIGINT, Ctrl-Alt-Del or
// the ACPI power button, and power off. Those stop the boot too, from its
// first step: the model's read stops within a chunk and its load is
// abandoned, and the machine syncs and powers off as after serving
// (nothing is written anywhere, so nothing is left half-written). Any
// other error on the way is fatal: it is logged and the machine powers
// off (pid1.Fatal), never a shell and never a hang.
//
// The console carries system events only (module loads, sizes, digests of
// public inputs, timings), never request content.
//
// It is the trusted computing base, so what it imports is watched:
// TestDepsDocumented keeps the list below equal to the modules of the
// non-standard part of `go list -deps ./cmd/pith-init` (60 packages when
// this was written, 257 with the standard library), so a new module in
// the image is seen in review. pith's own packages: runtime/pid1 and
// runtime/harden (PID-1 duties), runtime/server with ohttp, bhttp and
// arena (the sealed API, with its own Ollama wire types: ollama's api
// package would bring its client, SSH keys and YAML), model, kernels,
// gguf, tokenizer and chat (inference), internal/hugemem (the model's
// bytes on huge pages), attest (the report providers).
// What comes from outside, and why:
//
//	golang.org/x/sys                 system calls (mounts, modules, netlink, reboot), CPU features
//	golang.org/x/text                Unicode normalisation in the tokenizer
//	golang.org/x/crypto              cryptobyte (go-sev-guest)
//	github.com/google/go-sev-guest   SEV-SNP reports and the derived key (attest)
//	github.com/google/go-tdx-guest   TDX quotes (attest)
//	github.com/google/go-configfs-tsm   configfs-tsm reports (go-sev-guest, go-tdx-guest)
//	github.com/google/logger         go-sev-guest, go-tdx-guest
//	github.com/google/uuid           go-sev-guest (report field types)
//	go.uber.org/multierr             go-sev-guest, go-tdx-guest
//	google.golang.org/protobuf       go-sev-guest, go-tdx-guest report types

package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/internal/hugemem"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/runtime/harden"
	"github.com/pith-project/pith/runtime/pid1"
	"github.com/pith-project/pith/runtime/server"
	"golang.org/x/sys/unix"
)

// modulesDir is where `pith image build` puts the kernel modules and the
// modules.dep it computed for them.
const modulesDir = "/lib/modules"

// platformModules are the attestation drivers. Each refuses to load
// (ENODEV) on a machine of the other kind or on a plain VM, so they are
// tried here rather than named in pith.modules, where a failure is fatal.
var platformModules = []string{"sev-guest", "tdx-guest"}

// ReadyMessage is the console line that says pith-init is serving; the
// image boot test waits for it.
const ReadyMessage = "pith-init ready"

func main() {
	// First of all, before anything can panic: what a crash prints
	// reaches the host's console (runtime/pid1's crash.go says why).
	if err := pid1.QuietTraceback(os.Args[0], os.Args, os.Environ()); err != nil {
		pid1.Fatal(err)
	}
	defer pid1.Guard()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	// Fatal logs, drains the console and powers off; should that fail it
	// exits, which as PID 1 panics the kernel, and panic=-1 with
	// -no-reboot stops it.
	if err := run(context.Background()); err != nil {
		pid1.Fatal(err)
	}
	slog.Info("powering off")
	pid1.Fatal(pid1.PowerOff()) // PowerOff returns only on failure
}

func run(parent context.Context) error {
	start := time.Now()
	if err := pid1.CheckEnviron(os.Environ()); err != nil {
		return fmt.Errorf("pith-init: %w", err)
	}
	if err := harden.Apply(); err != nil {
		return fmt.Errorf("pith-init: harden: %w", err)
	}
	sigCtx, stopSignals := pid1.ShutdownContext(parent)
	defer stopSignals()
	ctx, cancel := context.WithCancelCause(sigCtx)
	defer cancel(nil)
	err := boot(ctx, cancel, start)
	if err != nil && shutdownRequested(ctx) {
		// A signal or the power button during the boot: the step it
		// cut short failed for that reason only, and the machine powers
		// off as after serving, not as on a fault.
		slog.Info("stopped during boot", "cause", context.Cause(ctx).Error(), "step", err.Error())
		return nil
	}
	return err
}

// shutdownRequested reports whether ctx has ended by a request to stop (a
// shutdown signal or the power button) rather than by a lost lease,
// which is a fault.
func shutdownRequested(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return cause != nil && !errors.Is(cause, pid1.ErrLeaseLost)
}

// boot brings the machine up and serves until ctx ends; cancel ends ctx
// with a cause.
func boot(ctx context.Context, cancel context.CancelCauseFunc, start time.Time) error {
	go func() {
		defer pid1.Guard()
		pid1.Reap(ctx)
	}()

	// A lost DHCP lease stops serving like a shutdown signal, but ends as
	// a fatal error: the address may be another machine's by now.
	// The power button is watched from Boot's first step: a press during
	// the boot, module loading and the model read included, powers off.
	cfg, err := pid1.Boot(ctx, pid1.BootOptions{
		ModulesDir:  modulesDir,
		LeaseLost:   func(err error) { cancel(err) },
		PowerButton: func() { cancel(pid1.ErrPowerButton) },
	})
	if err != nil {
		return fmt.Errorf("pith-init: boot: %w", err)
	}
	if err := pid1.DisableSysRq("/"); err != nil {
		return fmt.Errorf("pith-init: %w", err)
	}
	for _, m := range platformModules {
		err := pid1.LoadModules(modulesDir, nil, m)
		switch {
		case err == nil:
		case errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
			slog.Info("platform driver not for this machine", "module", m)
		default:
			return fmt.Errorf("pith-init: %w", err)
		}
	}
	// configfs is a module in the Debian cloud kernel, so the first MountAll
	// (inside Boot) could not mount /sys/kernel/config; tsm pulled it in
	// since, and a second pass mounts what is now possible.
	if err := pid1.MountAll("/"); err != nil {
		return fmt.Errorf("pith-init: %w", err)
	}

	if err := waitFor(ctx, cfg.Model, 10*time.Second); err != nil {
		return err
	}
	t := time.Now()
	data, err := pid1.ReadModel(ctx, cfg)
	if err != nil {
		return fmt.Errorf("pith-init: model refused: %w", err)
	}
	pages, _ := hugemem.Stat(data)
	slog.Info("model checked", "bytes", len(data), "huge_page_bytes", pages.Huge, "sha256", fmt.Sprintf("%x", cfg.ModelSHA256), "took", time.Since(t).Round(time.Millisecond))
	m, err := unlessStopped(ctx, func() (*model.Model, error) {
		f, err := gguf.Parse(data)
		if err != nil {
			return nil, err
		}
		// Tensors on cache lines: ReadModel left the room.
		f.AlignData(gguf.DataAlign)
		return model.Load(f)
	})
	if err != nil {
		// On a shutdown the load may still be rewriting data, which
		// is left alone: the machine powers off next.
		return fmt.Errorf("pith-init: model: %w", err)
	}
	err = serve(ctx, cfg, m, int64(len(data)))
	clear(data[:cap(data)]) // AlignData may have moved the file's end past len
	if err != nil {
		return err
	}
	if cause := context.Cause(ctx); errors.Is(cause, pid1.ErrLeaseLost) {
		return fmt.Errorf("pith-init: %w", cause)
	}
	slog.Info("stopped", "cause", context.Cause(ctx).Error(), "uptime", time.Since(start).Round(time.Millisecond))
	return nil
}

// DefaultListen is where the server listens when the command line has no
// pith.listen: every interface, since the host forwards to it.
const DefaultListen = "0.0.0.0:8080"

// shutdownGrace is how long requests in flight may finish after a
// shutdown signal before they are cancelled (and their arenas wiped).
const shutdownGrace = 20 * time.Second

// keyRotation is how often the OHTTP keys change.
const keyRotation = 24 * time.Hour

// serve opens the attestation provider, loads the checked model and serves
// the sealed API until ctx ends. The plaintext API is never offered here.
func serve(ctx context.Context, cfg pid1.Config, m *model.Model, size int64) error {
	prov, err := attest.Open(ctx, cfg.Attest, slog.Default())
	if err != nil {
		return fmt.Errorf("pith-init: attestation: %w", err)
	}
	srv, err := server.New(server.Config{
		Model: m, ModelDigest: "sha256:" + hex.EncodeToString(cfg.ModelSHA256), ModelSize: size,
		Attest: prov, KeyRotation: keyRotation, Logger: slog.Default(),
	})
	if err != nil {
		return fmt.Errorf("pith-init: %w", err)
	}
	defer srv.Close()
	addr := cfg.Listen
	if addr == "" {
		addr = DefaultListen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pith-init: %w", err)
	}
	slog.Info(ReadyMessage, "listen", ln.Addr().String(), "platform", string(prov.Platform()))
	if err := srv.Serve(ctx, ln, false, shutdownGrace); err != nil {
		return fmt.Errorf("pith-init: serve: %w", err)
	}
	return nil
}

// unlessStopped runs fn, and returns ctx's cause as soon as ctx ends
// even if fn has not: a step of seconds that cannot look at ctx itself
// (the model's load, which repacks its weights) must not hold up a
// shutdown. fn then goes on in the background, harmless only because the
// caller powers off next; the caller must leave alone what fn uses.
func unlessStopped[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer pid1.Guard()
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("stopped: %w", context.Cause(ctx))
	}
}

// waitFor waits for a device node to appear: devtmpfs creates /dev/vda only
// once virtio_blk has probed the disk, which can trail the module load.
func waitFor(ctx context.Context, path string, limit time.Duration) error {
	if path == "" {
		return errors.New("pith-init: no pith.model= on the command line")
	}
	deadline := time.Now().Add(limit)
	for {
		_, err := os.Stat(path)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return fmt.Errorf("pith-init: model %q: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pith-init: waiting for model %q: %w", path, context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
