package pid1

import (
	"strings"
	"testing"
)

func TestCheckEnviron(t *testing.T) {
	tests := []struct {
		env  []string
		want string // in the error; "" for none
	}{
		{nil, ""},
		{[]string{"HOME=/", "TERM=linux"}, ""},
		{[]string{"TERM=vt100"}, ""}, // console=... style override, read by nothing
		{[]string{"HOME=/", "TERM=linux", "GODEBUG=x509sha1=1"}, `"GODEBUG"`},
		{[]string{"GOTRACEBACK=crash"}, `"GOTRACEBACK"`},
		{[]string{"PITH_KERNELS=portable", "GOMAXPROCS=1"}, `"PITH_KERNELS", "GOMAXPROCS"`},
		{[]string{"BOOT_IMAGE=/vmlinuz"}, `"BOOT_IMAGE"`},
		{[]string{"novalue"}, `"novalue"`},
		{[]string{"=x"}, `""`},
	}
	for _, tt := range tests {
		err := CheckEnviron(tt.env)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.env, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: %v, want an error naming %s", tt.env, err, tt.want)
		}
	}
	// Values stay out of the console.
	if err := CheckEnviron([]string{"GODEBUG=secretvalue"}); err == nil || strings.Contains(err.Error(), "secretvalue") {
		t.Errorf("error %v shows the value", err)
	}
}
