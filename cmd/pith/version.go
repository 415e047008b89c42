package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// version and commit are set by the Makefile through -ldflags -X; a plain
// `go build` leaves them as "dev" and whatever the build info knows.
var (
	version = "dev"
	commit  = ""
)

func init() {
	register(&command{
		Name:  "version",
		Short: "print pith's version, commit, Go version and build experiments",
		Usage: "pith version",
		Help: `Prints the version and commit this binary was built from, the Go toolchain,
the GOEXPERIMENTs compiled in (simd for the SIMD kernels, runtimesecret for
runtime/secret) and the CPU's features that the kernels dispatch on.

Example:
  pith version`,
		Run: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("version takes no arguments")
			}
			for _, l := range versionLines() {
				fmt.Fprintln(os.Stdout, l)
			}
			return nil
		},
	})
}

func versionLines() []string {
	c := commit
	exps := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "GOEXPERIMENT":
				exps = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	if exps == "" {
		exps = "none"
	}
	return []string{
		"pith " + version,
		"commit:      " + c,
		"go:          " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		"experiments: " + strings.ReplaceAll(exps, ",", ", "),
	}
}
