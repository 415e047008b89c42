package main

import (
	"bytes"
	"strings"
	"testing"
)

// Every model sub-command explains itself with an example, and 'pith model
// --help' lists them all.
func TestModelSubcommandHelp(t *testing.T) {
	var all bytes.Buffer
	runMain([]string{"model", "--help"}, &all, &bytes.Buffer{})
	for _, name := range modelOrder {
		if !strings.Contains(all.String(), "pith model "+name) {
			t.Errorf("'pith model --help' does not list %s", name)
		}
		if !strings.Contains(modelSubs[name].help, "Example:\n  pith model "+name) {
			t.Errorf("pith model %s --help has no example", name)
		}
	}
	var out, errb bytes.Buffer
	if code := runMain([]string{"model", "import"}, &out, &errb); code != 2 {
		t.Errorf("'pith model import' without a name: exit %d", code)
	}
	if code := runMain([]string{"model", "frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown model command") {
		t.Errorf("unknown sub-command: exit %d, %q", code, errb.String())
	}
}
