//go:build pithnowipe

package arena

import (
	"bytes"
	"testing"
)

// The control build keeps what a request wrote (so the memory scan can
// show it finds it), while allocations still hand out zeros.
func TestNoWipeBuildKeepsData(t *testing.T) {
	if !WipeDisabled {
		t.Fatal("pithnowipe build does not report WipeDisabled")
	}
	a := newArena(t, 1<<20, Options{})
	secret := []byte("CONTROL-RUN-CANARY")
	a.Do(func(a *Arena) error { copy(a.Bytes(100), secret); return nil })
	if !bytes.Contains(a.mem, secret) {
		t.Fatal("the control build wiped anyway")
	}
	if b := a.Bytes(100); !bytes.Equal(b, make([]byte, 100)) {
		t.Fatal("allocation not zeroed in the control build")
	}
}
