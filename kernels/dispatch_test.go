package kernels

import "testing"

func TestSetPathErrors(t *testing.T) {
	defer SetPath(Path())
	if err := SetPath("avx9000"); err == nil {
		t.Error("unknown path accepted")
	}
	if err := SetPath("portable"); err != nil || Path() != "portable" {
		t.Errorf("portable: %v", err)
	}
}

func mustRowBytes(t *testing.T, typ Type, n int) int {
	rb, err := typ.RowBytes(n)
	if err != nil {
		t.Fatal(err)
	}
	return rb
}
