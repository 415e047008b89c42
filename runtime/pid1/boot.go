package pid1

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
)

// BootOptions are the image's fixed choices for Boot.
type BootOptions struct {
	// ModulesDir holds modules.dep and the modules (in the initramfs).
	ModulesDir string
	// ModuleParams maps a module name to its parameters, e.g.
	// {"tiny_power_button": "power_signal=30"}.
	ModuleParams map[string]string
	// Cmdline, when not empty, is used instead of /proc/cmdline (tests).
	Cmdline string
	// PowerButton, when not nil, is called for each ACPI power button
	// press from the start of Boot until ctx ends.
	PowerButton func()
	// LeaseLost is called, once, when a DHCP lease taken at boot can no
	// longer be renewed; the error wraps ErrLeaseLost. Nil logs it only.
	LeaseLost func(error)
}

// Boot does PID 1's work before serving, in order: listen for the ACPI
// power button (opts.PowerButton), mount the pseudo file systems, route
// Ctrl-Alt-Del to a signal, read the command line, load the modules it
// names (with their dependencies; the power button's drivers first), and
// bring the network up (pith.net, or AutoNet without it), keeping a DHCP
// lease renewed until ctx ends. A cloud's "stop" presses the button once
// and waits: the listening starts before anything that takes time, and
// the button's driver is loaded before the other modules, because ACPI
// drops a press that comes before the driver is bound (it clears the
// event when the driver installs its handler).
// It refuses to run outside PID 1, where it would remount the host's
// /proc and change its Ctrl-Alt-Del behaviour. The caller powers off
// (Fatal) on its error.
func Boot(ctx context.Context, opts BootOptions) (Config, error) {
	if os.Getpid() != 1 {
		return Config{}, fmt.Errorf("pid1: Boot: %w", ErrNotPID1)
	}
	if opts.PowerButton != nil {
		if err := StartPowerButton(ctx, opts.PowerButton); err != nil {
			// The tiny driver's signal still reaches ShutdownContext.
			slog.Warn("no ACPI power button events", "err", err)
		}
	}
	if err := MountAll("/"); err != nil {
		return Config{}, err
	}
	if err := DisableCtrlAltDel(); err != nil {
		// In a container's PID namespace the kernel refuses it; the
		// machine's own PID 1 never gets here.
		slog.Warn("Ctrl-Alt-Del stays the kernel's", "err", err)
	}
	var cfg Config
	var err error
	if opts.Cmdline != "" {
		var ps []Param
		if ps, err = ParseCmdline(opts.Cmdline); err == nil {
			cfg, err = ParseConfig(ps)
		}
	} else {
		cfg, err = ReadConfig()
	}
	if err != nil {
		return Config{}, err
	}
	if len(cfg.Modules) > 0 {
		if err := LoadModules(opts.ModulesDir, opts.ModuleParams, powerButtonFirst(cfg.Modules)...); err != nil {
			return Config{}, err
		}
	}
	n := cfg.Net
	if n == nil {
		if n, err = AutoNet(ctx); err != nil {
			return Config{}, err
		}
	}
	lost := opts.LeaseLost
	if lost == nil {
		lost = func(err error) { slog.Error("network", "err", err) }
	}
	if err := netUp(ctx, n, lost); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// powerButtonDrivers provide the ACPI power button (see the package doc).
var powerButtonDrivers = []string{"button", "tiny_power_button"}

// powerButtonFirst orders the power button's drivers before the other
// modules, keeping the others' order: every moment before the driver is
// bound is one in which a press is lost.
func powerButtonFirst(mods []string) []string {
	var first, rest []string
	for _, m := range mods {
		if slices.Contains(powerButtonDrivers, strings.ReplaceAll(m, "-", "_")) {
			first = append(first, m)
		} else {
			rest = append(rest, m)
		}
	}
	return append(first, rest...)
}
