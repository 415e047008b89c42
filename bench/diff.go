package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Alpha is the significance level of Diff.
const Alpha = 0.05

// The rule Diff applies to decide whether a change is beyond the run-to-run
// noise, stated once so the output can cite it.
const NoiseRule = `a change is significant when the two-sided Mann-Whitney U test gives p < 0.05;
when the sample sizes make p < 0.05 impossible (2/C(n1+n2,n1) >= 0.05, e.g. 3+3 repetitions),
it is significant only when the min..max ranges do not overlap (at least 2+2 repetitions);
with fewer, no verdict is given.`

// Verdict says whether a change is beyond the noise.
type Verdict int

const (
	Noise       Verdict = iota // within run-to-run noise
	Significant                // beyond it
	TooFew                     // not enough samples to say
)

func (v Verdict) String() string {
	return [...]string{"~", "significant", "too few samples"}[v]
}

// Change is one figure compared across two reports.
type Change struct {
	Key      Key
	Old, New *Figure // either may be nil when the figure exists on one side only
	// Delta is the relative change of the median, (new-old)/old.
	Delta   float64
	P       float64 // Mann-Whitney p-value, or NaN when the range rule was used
	Rule    string  // "mann-whitney", "range" or ""
	Verdict Verdict
	// Better is true when the change is an improvement in the unit's
	// direction (only meaningful when Significant).
	Better bool
}

// Diff compares every figure of a with the same figure in b. Model files
// are matched by SHA-256, so a renamed copy of the same file still pairs.
func Diff(a, b *Report) []Change {
	toB := modelRenames(a, b)
	rename := func(k Key, m map[string]string) Key {
		if n, ok := m[k.Model]; ok {
			k.Model = n
		}
		return k
	}
	var out []Change
	paired := map[*Figure]bool{}
	for i := range a.Figures {
		fa := &a.Figures[i]
		fb := b.Find(rename(fa.Key(), toB))
		if fb != nil {
			paired[fb] = true
		}
		out = append(out, compare(fa.Key(), fa, fb))
	}
	// A figure of b is new unless one of a's paired with it: looking its
	// key up in a again would also take it as paired when a's figure of
	// that name went to another of b's files, the one with its contents.
	for i := range b.Figures {
		if !paired[&b.Figures[i]] {
			out = append(out, compare(b.Figures[i].Key(), nil, &b.Figures[i]))
		}
	}
	return out
}

// SetupChanges lists what differs between the setups of two reports
// besides the build (what a diff is usually for): Diff pairs figures by
// name, so figures from another machine, kernel path, KV cache type or
// llama.cpp build, or of another file under the same model name, are
// compared as if only the build had changed, and the reader must be told.
func SetupChanges(a, b *Report) []string {
	var out []string
	ea, eb := a.Env, b.Env
	count := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	for _, c := range []struct{ what, x, y string }{
		{"CPU", ea.CPU, eb.CPU},
		{"core count", count(ea.Cores), count(eb.Cores)},
		{"OS", ea.OS, eb.OS},
		{"kernel path (of the model and serve runs)", ea.KernelPath, eb.KernelPath},
		{"KV cache type", ea.KVCache, eb.KVCache},
		{"thread count of the servers", count(ea.ServeThreads), count(eb.ServeThreads)},
		{"llama.cpp", ea.Llama, eb.Llama},
	} {
		if c.x != "" && c.y != "" && c.x != c.y {
			out = append(out, fmt.Sprintf("different %s: old %q, new %q", c.what, c.x, c.y))
		}
	}
	renamed := modelRenames(a, b)
	for _, ma := range ea.Models {
		if _, ok := renamed[ma.File]; ok {
			continue // its figures pair with the same contents under another name
		}
		for _, mb := range eb.Models {
			if ma.File == mb.File && ma.SHA256 != "" && mb.SHA256 != "" && ma.SHA256 != mb.SHA256 {
				out = append(out, fmt.Sprintf("model %s is another file in the new report (sha256 %.12s…, then %.12s…): its figures are compared all the same", ma.File, ma.SHA256, mb.SHA256))
			}
		}
	}
	return out
}

// modelRenames maps each model file name of x to the name the same file
// (by SHA-256) has in y, where the names differ.
func modelRenames(x, y *Report) map[string]string {
	m := map[string]string{}
	for _, mx := range x.Env.Models {
		for _, my := range y.Env.Models {
			if mx.SHA256 != "" && mx.SHA256 == my.SHA256 && mx.File != my.File {
				m[mx.File] = my.File
			}
		}
	}
	return m
}

func compare(k Key, a, b *Figure) Change {
	c := Change{Key: k, Old: a, New: b, P: math.NaN(), Verdict: TooFew}
	if a == nil || b == nil {
		return c
	}
	if a.Median != 0 {
		c.Delta = (b.Median - a.Median) / a.Median
	}
	c.Better = (b.Median > a.Median) == HigherIsBetter(k.Unit)
	n1, n2 := len(a.Samples), len(b.Samples)
	switch {
	case minPValue(n1, n2) < Alpha:
		_, c.P = MannWhitney(a.Samples, b.Samples)
		c.Rule = "mann-whitney"
		c.Verdict = Noise
		if c.P < Alpha {
			c.Verdict = Significant
		}
	case n1 >= 2 && n2 >= 2:
		c.Rule = "range"
		c.Verdict = Noise
		if a.Max < b.Min || b.Max < a.Min {
			c.Verdict = Significant
		}
	}
	return c
}

// WriteDiff prints changes as a benchstat-like table.
func WriteDiff(w io.Writer, changes []Change) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tunit\told median\tnew median\tchange\tverdict")
	for _, c := range changes {
		old, nw := "-", "-"
		if c.Old != nil {
			old = fmt.Sprintf("%s (n=%d)", num(c.Old.Median), len(c.Old.Samples))
		}
		if c.New != nil {
			nw = fmt.Sprintf("%s (n=%d)", num(c.New.Median), len(c.New.Samples))
		}
		delta := ""
		verdict := ""
		switch {
		case c.Old == nil:
			verdict = "only in new"
		case c.New == nil:
			verdict = "only in old"
		default:
			delta = fmt.Sprintf("%+.1f%%", 100*c.Delta)
			verdict = c.Verdict.String()
			switch c.Rule {
			case "mann-whitney":
				verdict += fmt.Sprintf(" (p=%.3f)", c.P)
			case "range":
				verdict += " (ranges)"
			}
			if c.Verdict == Significant {
				if c.Better {
					verdict += ", better"
				} else {
					verdict += ", worse"
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Key, c.Key.Unit, old, nw, delta, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nRule: %s\n", strings.ReplaceAll(NoiseRule, "\n", "\n      "))
	return err
}
