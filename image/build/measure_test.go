package build

import (
	"strings"
	"testing"
)

func TestCmdlineModel(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	other := strings.Repeat("cd", 32)
	line := func(sha, size string) string {
		s := "console=ttyS0 pith.model=/dev/vda"
		if sha != "" {
			s += " pith.model.sha256=" + sha
		}
		if size != "" {
			s += " pith.model.size=" + size
		}
		return s
	}
	for _, c := range []struct {
		name    string
		model   *Artifact
		cmdline string
		checked int
		want    []string // What of each mismatch
	}{
		{"agree", &Artifact{SHA256: sum, Size: 1000}, line(sum, "1000"), 2, nil},
		{"upper-case on the command line", &Artifact{SHA256: sum, Size: 1000}, line(strings.ToUpper(sum), "1000"), 2, nil},
		{"no size on the command line", &Artifact{SHA256: sum, Size: 1000}, line(sum, ""), 1, nil},
		{"no model in the manifest", nil, line(sum, "1000"), 0, nil},
		{"no size in the manifest", &Artifact{SHA256: sum}, line(sum, "1000"), 1, nil},
		{"other digest", &Artifact{SHA256: other, Size: 1000}, line(sum, "1000"), 2, []string{"model SHA-256 on the command line"}},
		{"other size", &Artifact{SHA256: sum, Size: 999}, line(sum, "1000"), 2, []string{"model size on the command line"}},
		{"both", &Artifact{SHA256: other, Size: 999}, line(sum, "1000"), 2, []string{"model SHA-256 on the command line", "model size on the command line"}},
		{"no digest on the command line", &Artifact{SHA256: sum, Size: 1000}, line("", "1000"), 2, []string{"model SHA-256 on the command line"}},
		{"unreadable command line", &Artifact{SHA256: sum}, line(sum, "1000") + ` pith.attest="dev`, 1, []string{"model on the command line"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := cmdlineModel(&Manifest{Model: c.model}, c.cmdline)
			var what []string
			for _, mm := range got {
				if mm != nil {
					what = append(what, mm.What)
				}
			}
			if len(got) != c.checked || strings.Join(what, "; ") != strings.Join(c.want, "; ") {
				t.Errorf("%d compared, mismatches %q; want %d compared, %q", len(got), what, c.checked, c.want)
			}
		})
	}
}
