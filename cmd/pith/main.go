// Command pith is the user's tool for the pith confidential summariser: it
// runs and serves models, verifies enclaves, builds measured images and
// benchmarks. Each subcommand lives in its own file and registers itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// A command is one subcommand of pith. Help is the full text shown by
// `pith NAME --help`: what it does, its flags (appended automatically) and at
// least one example.
type command struct {
	Name  string
	Short string // one line for `pith help`
	Usage string // "pith NAME [flags] ARGS"
	Help  string
	// Flags declares the flags on fs; Run receives what is left after parsing.
	Flags func(fs *flag.FlagSet)
	Run   func(ctx context.Context, args []string) error
}

var commands = map[string]*command{}

// subcommand is one COMMAND of a command group ('pith model COMMAND',
// 'pith bench COMMAND'); the groups share subcommandList and
// runSubcommand rather than each writing its own dispatch.
type subcommand struct {
	usage, short, help string
	run                func(ctx context.Context, args []string) error
}

// subcommandList is the COMMAND list of a group's help, in order.
func subcommandList(order []string, subs map[string]*subcommand) string {
	var list strings.Builder
	for _, n := range order {
		fmt.Fprintf(&list, "  %s\n      %s\n", subs[n].usage, subs[n].short)
	}
	return list.String()
}

// runSubcommand runs the COMMAND that args[0] names with the rest of args,
// or prints its help when --help follows it; group names the group in
// errors ("bench").
func runSubcommand(ctx context.Context, group string, order []string, subs map[string]*subcommand, args []string) error {
	if len(args) == 0 {
		return usagef("which one: %s?", strings.Join(order, ", "))
	}
	sub, ok := subs[args[0]]
	if !ok {
		return usagef("unknown %s command %q (%s)", group, args[0], strings.Join(order, ", "))
	}
	// Every COMMAND parses its flags first, with parseFlags, which
	// answers -help (in any spelling the flag package takes, and here
	// anywhere among the arguments) with them before anything runs.
	rest := args[1:]
	if slices.ContainsFunc(rest, func(a string) bool { return a == "-h" || a == "--help" || a == "-help" }) {
		rest = []string{"-help"}
	}
	err := sub.run(ctx, rest)
	var fh flagsHelp
	var ue usageError
	switch {
	case errors.As(err, &fh):
		fmt.Printf("Usage: %s\n\n%s\n", sub.usage, sub.help)
		printFlags(os.Stdout, fh.fs)
		return nil
	case errors.As(err, &ue) && !strings.Contains(ue.msg, "(see '"):
		return usagef("%s (see 'pith %s %s --help')", ue.msg, group, args[0])
	}
	return err
}

// flagsHelp is parseFlags' answer to -h or --help: runSubcommand prints
// the command's help with these flags.
type flagsHelp struct{ fs *flag.FlagSet }

func (flagsHelp) Error() string { return "flags help requested" }

// parseFlags parses the flags of a group's COMMAND ("pith bench model"),
// which define declares (nil for none, so that a stray flag is an error
// rather than an argument).
func parseFlags(group, name string, args []string, define func(fs *flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("pith "+group+" "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if define != nil {
		define(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, flagsHelp{fs}
		}
		return nil, usagef("%v", err) // runSubcommand names the help
	}
	return fs, nil
}

// printFlags lists fs's flags and their defaults under a heading, if it
// has any.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func register(c *command) {
	if _, dup := commands[c.Name]; dup {
		panic("pith: command registered twice: " + c.Name)
	}
	commands[c.Name] = c
}

// usageError is a mistake in how the command was called: exit status 2 and a
// one-line reason, as the foundation issue asks.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// maxThreads is the most threads a --threads or -t flag accepts: four
// per core. The kernels split each matrix across one worker per thread,
// so threads beyond the cores only add scheduling and per-worker scratch
// (10,000 took 24 s to start, 100,000 did not finish); four per core still
// leaves room to measure oversubscription, while a fixed cap such as 256
// would be too high for a laptop and too low for a large server.
func maxThreads() int { return 4 * runtime.NumCPU() }

// checkThreads refuses a thread count below one or above maxThreads,
// naming the flag it came from ("--threads").
func checkThreads(flagName string, n int) error {
	if n < 1 {
		return usagef("%s %d: give at least 1 thread", flagName, n)
	}
	if n > maxThreads() {
		return usagef("%s %d: at most %d threads (4 per core) on this machine", flagName, n, maxThreads())
	}
	return nil
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintln(stderr, unknownCommand(args[1]))
				return 2
			}
			printHelp(stdout, c)
			return 0
		}
		printTop(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintln(stderr, unknownCommand(args[0]))
		return 2
	}
	fs := flag.NewFlagSet("pith "+c.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.Flags != nil {
		c.Flags(fs)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, c)
			return 0
		}
		fmt.Fprintf(stderr, "pith %s: %v (see 'pith %s --help')\n", c.Name, err, c.Name)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.Run(ctx, fs.Args()); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			if !strings.Contains(ue.msg, "(see '") { // a COMMAND's error names its own help
				ue.msg += fmt.Sprintf(" (see 'pith %s --help')", c.Name)
			}
			fmt.Fprintf(stderr, "pith %s: %s\n", c.Name, ue.msg)
			return 2
		}
		fmt.Fprintf(stderr, "pith %s: %v\n", c.Name, err)
		return 1
	}
	return 0
}

// unknownCommand is the one-line error for a command pith does not have,
// whether run or asked about ('pith help NAME'): it lists the commands, so
// that a typo is answered with the right spelling.
func unknownCommand(name string) string {
	return fmt.Sprintf("pith: unknown command %q (commands: %s; see 'pith help')", name, strings.Join(commandNames(), ", "))
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func printTop(w io.Writer) {
	fmt.Fprint(w, `pith summarises private conversations inside a confidential VM (AMD SEV-SNP or
Intel TDX) with a quantised LLM, so that nobody outside the VM can read them.

Usage: pith COMMAND [flags] [args]

Commands:
`)
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].Short)
	}
	fmt.Fprint(w, "\nRun 'pith COMMAND --help' for a command's flags and examples.\n")
}

func printHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.Usage, strings.TrimSpace(c.Help))
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	if c.Flags != nil {
		c.Flags(fs)
	}
	printFlags(w, fs)
}
