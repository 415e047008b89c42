package pid1

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
)

// What PID 1 prints on a fatal panic reaches the console, which the host
// reads. Go's own traceback (GOTRACEBACK=single, the default) prints each
// frame's argument words: pointers, lengths and integers from the stack,
// possibly derived from request content or keys. The panic's value can
// carry the same (an index, an error's text). The operator needs to know
// where it failed, not with what. So:
//   - Guard, deferred at the top of main and of PID 1's goroutines,
//     recovers the panic and powers off (Fatal) with the panic's type and
//     its site, function and file:line of each frame, and nothing else.
//   - For a panic Guard does not see (a goroutine of a library), the
//     runtime prints with GOTRACEBACK=none: the value's line only, no
//     frames, no argument words. debug.SetTraceback cannot lower the
//     level below the environment's (unset means "single"), so
//     QuietTraceback re-executes the binary with GOTRACEBACK=none set,
//     before anything else happens; CheckEnviron accepts that value.
// runtime/secret.Do also helps: a panic inside it is re-raised from Do
// with f's stack erased, so no frame of f (nor its arguments) is shown
// whatever the level.

// quietTraceback is the GOTRACEBACK setting QuietTraceback establishes.
const quietTraceback = "GOTRACEBACK=none"

// QuietTraceback re-executes the running binary (argv0, as the kernel
// started it) with GOTRACEBACK=none added to env, unless that is set
// already; it returns only when nothing is to be done or on an error. A
// GOTRACEBACK of any other value is left for CheckEnviron to refuse.
func QuietTraceback(argv0 string, args, env []string) error {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOTRACEBACK=") {
			return nil
		}
	}
	// execve keeps the PID: PID 1 stays PID 1.
	if err := syscall.Exec(argv0, args, append(env[:len(env):len(env)], quietTraceback)); err != nil {
		return fmt.Errorf("pid1: re-executing %s with %s: %w", argv0, quietTraceback, err)
	}
	return nil
}

// Guard, deferred directly (defer pid1.Guard()), turns a panic into Fatal
// with the panic's type and site and without its value.
func Guard() {
	v := recover()
	if v == nil {
		return
	}
	Fatal(panicSite(v))
}

// panicSite describes a recovered panic by its type and the frames that
// led to it, from inside the deferred function that recovered it.
func panicSite(v any) error {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs) // runtime.Callers, panicSite, Guard
	frames := runtime.CallersFrames(pcs[:n])
	var sites []string
	for {
		f, more := frames.Next()
		// The runtime's own frames (gopanic, the bounds check) say
		// nothing an operator needs.
		if !strings.HasPrefix(f.Function, "runtime.") && f.Function != "" {
			sites = append(sites, fmt.Sprintf("%s (%s:%d)", f.Function, f.File, f.Line))
		}
		if !more {
			break
		}
	}
	kind := fmt.Sprintf("%T", v)
	var re runtime.Error
	if err, ok := v.(error); ok && errors.As(err, &re) {
		kind = "runtime error " + kind
	}
	return fmt.Errorf("pid1: panic (%s, value withheld) at %s", kind, strings.Join(sites, " <- "))
}
