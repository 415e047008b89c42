package pid1

import (
	"fmt"
	"slices"
	"strings"
)

// kernelEnv are the variables the kernel gives init itself (envp_init in
// init/main.c: HOME=/ and TERM=linux); a command line word of the same
// name replaces the value, which nothing in pith-init reads.
var kernelEnv = []string{"HOME", "TERM"}

// CheckEnviron refuses an environment with any variable but the kernel's
// own. The kernel hands every key=value word of its command line that it
// does not know itself and that has no dot in the key to init as an
// environment variable (init/main.c unknown_bootoption), so on a setup
// where the host writes the command line, "GODEBUG=...", "GOTRACEBACK=all",
// "GOMAXPROCS=1" or "PITH_KERNELS=portable" would reach the Go runtime and
// pith's own packages, which read them before main runs. ParseConfig
// skips such words as not pith.* keys, so the refusal has to come from
// here, and it can only be a refusal to boot: the runtime has read them
// already. The names are in the error, not the values.
func CheckEnviron(env []string) error {
	var extra []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if kv == quietTraceback { // QuietTraceback's own
			continue
		}
		if !slices.Contains(kernelEnv, name) {
			extra = append(extra, fmt.Sprintf("%q", name))
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("pid1: environment variables %s, which only the kernel command line can have set (an unknown key=value word becomes one); pith-init takes its settings from pith.* keys only", strings.Join(extra, ", "))
	}
	return nil
}
