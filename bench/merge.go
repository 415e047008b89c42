package bench

import (
	"cmp"
	"fmt"
	"slices"
)

// Merge combines reports of one session (for example `pith bench model`
// and `pith bench serve` run one after the other by `make bench`) into one.
// They must come from the same machine and build, and no figure may
// appear in two of them: a report never mixes runs of the same figure.
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("bench: merge: no reports")
	}
	first := reports[0]
	out := NewReport(first.Env)
	out.Started, out.Command = first.Started, first.Command
	out.Env.Models = nil
	out.Env.Llama = ""
	for i, r := range reports {
		if err := sameSetup(first.Env, r.Env); err != nil {
			return nil, fmt.Errorf("bench: merge: report %d: %w", i+1, err)
		}
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		for _, m := range r.Env.Models {
			// Figures name their model by file name only: two files of
			// one name would share the figures' model and its description.
			if j := slices.IndexFunc(out.Env.Models, func(o Model) bool { return o.File == m.File }); j >= 0 && out.Env.Models[j] != m {
				return nil, fmt.Errorf("bench: merge: report %d: model %s is another file (sha256 %.12s…) than in an earlier report (%.12s…)", i+1, m.File, m.SHA256, out.Env.Models[j].SHA256)
			}
			if !slices.Contains(out.Env.Models, m) {
				out.Env.Models = append(out.Env.Models, m)
			}
		}
		if r.Env.KVCache != "" && out.Env.KVCache != "" && r.Env.KVCache != out.Env.KVCache {
			return nil, fmt.Errorf("bench: merge: report %d: different KV cache types (%q, %q)", i+1, out.Env.KVCache, r.Env.KVCache)
		}
		out.Env.KVCache = cmp.Or(out.Env.KVCache, r.Env.KVCache)
		if r.Env.ServeThreads != 0 && out.Env.ServeThreads != 0 && r.Env.ServeThreads != out.Env.ServeThreads {
			return nil, fmt.Errorf("bench: merge: report %d: servers of different thread counts (%d, %d)", i+1, out.Env.ServeThreads, r.Env.ServeThreads)
		}
		out.Env.ServeThreads = cmp.Or(out.Env.ServeThreads, r.Env.ServeThreads)
		switch {
		case out.Env.Llama == "":
			out.Env.Llama = r.Env.Llama
		case r.Env.Llama != "" && r.Env.Llama != out.Env.Llama:
			out.Env.Llama += "; " + r.Env.Llama
		}
		for _, n := range r.Notes {
			out.Notes = appendOnce(out.Notes, n)
		}
		for _, f := range r.Figures {
			if out.Find(f.Key()) != nil {
				return nil, fmt.Errorf("bench: merge: %s appears in more than one report", f.Key())
			}
			out.Add(f)
		}
	}
	return out, nil
}

// sameSetup refuses to merge figures measured on different machines or
// builds.
func sameSetup(a, b Env) error {
	for _, c := range []struct{ what, x, y string }{
		{"CPU", a.CPU, b.CPU},
		{"OS", a.OS, b.OS},
		{"kernel path", a.KernelPath, b.KernelPath},
		{"Go version", a.GoVersion, b.GoVersion},
		{"pith commit", a.Commit, b.Commit},
		{"pith version", a.Version, b.Version},
	} {
		if c.x != c.y {
			return fmt.Errorf("different %s (%q, %q)", c.what, c.x, c.y)
		}
	}
	if a.Cores != b.Cores {
		return fmt.Errorf("different core counts (%d, %d)", a.Cores, b.Cores)
	}
	return nil
}
