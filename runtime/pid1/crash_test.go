package pid1

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// secretIndex stands for a value derived from a request.
const secretIndex = 0x5ec7e7

//go:noinline
func leakIndex(secret int, content []byte) byte {
	var empty []byte
	return empty[secret] + content[0]
}

// What a fatal panic prints, in a child that set itself up as pith-init
// does (QuietTraceback, then Guard): the panic's type and site, not its
// value nor any frame's argument words. A panic Guard does not see (a
// goroutine of its own) prints no frames at all.
func TestCrashOutputWithholdsValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		guarded bool
	}{{"guarded", true}, {"unguarded", false}} {
		t.Run(tc.name, func(t *testing.T) {
			if inChild(t.Name()) {
				if err := QuietTraceback(os.Args[0], os.Args, os.Environ()); err != nil {
					childDone(err)
				}
				markDrain()
				content := []byte("secret request text")
				if tc.guarded {
					defer Guard()
					leakIndex(secretIndex, content)
				}
				go leakIndex(secretIndex, content)
				time.Sleep(5 * time.Second)
				childDone(fmt.Errorf("no panic"))
			}
			out, ps, _ := runChild(t, t.Name(), 0)
			t.Logf("exit %d:\n%s", ps.ExitCode(), out)
			for _, leak := range []string{fmt.Sprint(secretIndex), fmt.Sprintf("%x", secretIndex), "(0x", "secret request text"} {
				if tc.guarded && strings.Contains(out, leak) {
					t.Errorf("the crash output holds %q:\n%s", leak, out)
				}
			}
			if strings.Contains(out, "(0x") {
				t.Errorf("the crash output holds argument words:\n%s", out)
			}
			if tc.guarded {
				for _, want := range []string{"fatal, powering off", "runtime error runtime.boundsError, value withheld", "pid1.leakIndex", "crash_test.go:"} {
					if !strings.Contains(out, want) {
						t.Errorf("the crash output lacks %q:\n%s", want, out)
					}
				}
				if ps.ExitCode() != 1 {
					t.Errorf("exit %d, want Fatal's 1", ps.ExitCode())
				}
				return
			}
			if ps.ExitCode() != 2 || !strings.Contains(out, "panic: ") || strings.Contains(out, "crash_test.go:") {
				t.Errorf("exit %d; want the runtime's 2 and no frames:\n%s", ps.ExitCode(), out)
			}
		})
	}
}

func TestCheckEnvironQuietTraceback(t *testing.T) {
	if err := CheckEnviron([]string{"HOME=/", quietTraceback}); err != nil {
		t.Errorf("QuietTraceback's own setting refused: %v", err)
	}
	if err := CheckEnviron([]string{"HOME=/", "GOTRACEBACK=all"}); err == nil {
		t.Error("GOTRACEBACK=all accepted")
	}
}
