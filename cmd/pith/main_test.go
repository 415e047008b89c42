package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"no-such-command"}, 2, "unknown command"},
		{[]string{"version", "extra"}, 2, "takes no arguments"},
		{[]string{"version", "--no-such-flag"}, 2, "flag provided but not defined"},
		{nil, 2, ""},
		{[]string{"help"}, 0, ""},
		{[]string{"version"}, 0, ""},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := runMain(tt.args, &out, &errb)
		if code != tt.code {
			t.Errorf("pith %v: exit %d, want %d (stderr %q)", tt.args, code, tt.code, errb.String())
		}
		if tt.inStderr != "" && !strings.Contains(errb.String(), tt.inStderr) {
			t.Errorf("pith %v: stderr %q does not contain %q", tt.args, errb.String(), tt.inStderr)
		}
		if code == 2 && strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 {
			t.Errorf("pith %v: usage error is not one line: %q", tt.args, errb.String())
		}
	}
}

// Every registered command must explain itself with an example.
func TestEveryCommandHasHelpWithExample(t *testing.T) {
	for name := range commands {
		var out, errb bytes.Buffer
		if code := runMain([]string{name, "--help"}, &out, &errb); code != 0 {
			t.Errorf("pith %s --help: exit %d", name, code)
		}
		if !strings.Contains(out.String(), "Example") {
			t.Errorf("pith %s --help has no example:\n%s", name, out.String())
		}
	}
}
