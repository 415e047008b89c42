package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// table is rendered either aligned for a terminal or as Markdown.
type table struct {
	title  string
	header []string
	rows   [][]string
}

func (t *table) text(w io.Writer) {
	width := make([]int, len(t.header))
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i == 0 { // names left, numbers right
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintf(w, "%s\n", t.title)
	line(t.header)
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
	fmt.Fprintln(w)
}

func (t *table) markdown(w io.Writer) {
	fmt.Fprintf(w, "### %s\n\n", t.title)
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	cells := make([]string, len(t.header))
	for i, h := range t.header {
		cells[i] = esc(h)
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	align := make([]string, len(t.header))
	for i := range align {
		align[i] = "---:"
	}
	align[0] = "---"
	fmt.Fprintf(w, "|%s|\n", strings.Join(align, "|"))
	for _, r := range t.rows {
		for i, c := range r {
			cells[i] = esc(c)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)
}

// dropColumns removes the columns at the given indices, in increasing
// order, from the header and every row.
func (t *table) dropColumns(cols ...int) {
	drop := func(r []string) []string {
		out := make([]string, 0, len(r))
		for i, c := range r {
			if !slices.Contains(cols, i) {
				out = append(out, c)
			}
		}
		return out
	}
	t.header = drop(t.header)
	for i, r := range t.rows {
		t.rows[i] = drop(r)
	}
}

// compared reports whether llama.cpp has figures in suite: a table leaves
// its llama.cpp columns out without them, rather than show a column of
// dashes for a comparison nobody asked for (no --compare).
func (r *Report) compared(suite, model string) bool {
	for _, f := range r.Figures {
		if f.Suite == suite && f.System == SystemLlama && (model == "" || f.Model == model) {
			return true
		}
	}
	return false
}

// num prints a figure with about three significant digits.
func num(v float64) string {
	switch a := max(v, -v); {
	case v == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// spread is "median (min–max)", or just the value for one sample.
func spread(f *Figure) string {
	if f == nil {
		return "-"
	}
	if len(f.Samples) == 1 || f.Min == f.Max {
		return num(f.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", num(f.Median), num(f.Min), num(f.Max))
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

// probe returns the probe figure for test at threads, whatever probe made it.
func (r *Report) probe(test string, threads int) *Figure {
	for i := range r.Figures {
		f := &r.Figures[i]
		if f.Suite == SuiteProbe && f.Test == test && f.Threads == threads {
			return f
		}
	}
	return nil
}

// tables builds the report's tables: environment facts are printed
// separately, ahead of them.
func (r *Report) tables() (out []*table) {
	probes := &table{title: "Machine probes (this run)", header: []string{"probe", "threads", "median (min–max)", "unit", "via"}}
	kern := &table{title: "Kernels: matrix-vector and prefill products (median, as a share of this run's best probe sample)", header: []string{"test", "path", "threads", "median (min–max)", "unit", "share of probe"}}
	var order []mkey
	seen := map[mkey]bool{}
	for i := range r.Figures {
		f := &r.Figures[i]
		switch f.Suite {
		case SuiteProbe:
			probes.rows = append(probes.rows, []string{f.Test, fmt.Sprint(f.Threads), spread(f), f.Unit, f.Path})
		case SuiteKernels:
			share := "-"
			var p *Figure
			if f.Unit == UnitGFLOPS {
				p = r.probe("fma-f32", f.Threads)
			} else {
				p = r.probe("read-bandwidth", f.Threads)
			}
			if p != nil && p.Max > 0 {
				share = pct(f.Median / p.Max)
			}
			paired := ""
			if len(f.Paired) > 0 {
				_, med, _ := Summary(f.Paired)
				paired = "paired " + pct(med)
			}
			if t, ok := strings.CutPrefix(f.Test, "decode "); ok {
				if paired != "" {
					share += " (" + paired + ")"
				}
				// Against its own access pattern's ceiling: what is left
				// below it is the kernels', the rest the memory system's.
				if lr := r.probe("layer-read "+t, f.Threads); lr != nil && lr.Max > 0 {
					share += " (layer reads " + pct(f.Median/lr.Max) + ")"
				}
				if p != nil && p.Max > 0 {
					share += " (best " + pct(f.Max/p.Max) + ")"
				}
			}
			// Prefill multiplies int8 by int8: its own peak is the int8
			// one (a GOP and a GFLOP both count a multiply-add as 2) of
			// its path's instructions where the run measured those apart
			// (see int8Probe), and its samples were paired with int8 ones.
			i8 := r.probe("int8-dot "+f.Path, f.Threads)
			if i8 == nil {
				i8 = r.probe("int8-dot", f.Threads)
			}
			if strings.HasPrefix(f.Test, "prefill ") && i8 != nil && i8.Max > 0 {
				share += " (int8 " + pct(f.Median/i8.Max)
				if paired != "" {
					share += ", " + paired
				}
				share += ", best " + pct(f.Max/i8.Max) + ")"
			}
			kern.rows = append(kern.rows, []string{f.Test, f.Path, fmt.Sprint(f.Threads), spread(f), f.Unit, share})
		case SuiteModel:
			k := mkey{f.Model, f.Test, f.Threads, f.Unit}
			if !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
		}
	}
	if len(probes.rows) > 0 {
		out = append(out, probes)
	}
	if len(kern.rows) > 0 {
		out = append(out, kern)
	}
	if st := r.serveTable(); st != nil {
		defer func() { out = append(out, st) }()
	}
	for _, name := range modelNames(order) {
		m := r.model(name)
		title := "Model " + name
		if m != nil {
			title = fmt.Sprintf("Model %s (%s, %.0f MB)", m.File, m.Type, float64(m.Size)/1e6)
		}
		mt := &table{title: title, header: []string{"test", "threads", "unit", "pith", "llama.cpp", "pith / llama.cpp", "pith weights GB/s (of best bandwidth)", "llama.cpp weights GB/s (of best bandwidth)"}}
		for _, k := range order {
			if k.model != name {
				continue
			}
			p := r.Find(Key{SuiteModel, SystemPith, k.model, k.test, k.threads, "", k.unit})
			l := r.Find(Key{SuiteModel, SystemLlama, k.model, k.test, k.threads, "", k.unit})
			ratio := "-"
			if p != nil && l != nil && l.Median > 0 {
				ratio = fmt.Sprintf("%.2f×", p.Median/l.Median)
			}
			row := []string{k.test, fmt.Sprint(k.threads), k.unit, spread(p), spread(l), ratio, "-", "-"}
			// Generation reads every weight once per token, so its speed
			// converts into a bandwidth the probe can judge.
			if strings.HasPrefix(k.test, "tg") && m != nil && m.WeightBytes > 0 {
				bw := r.probe("read-bandwidth", k.threads)
				for i, f := range []*Figure{p, l} {
					if f == nil {
						continue
					}
					gbs := float64(m.WeightBytes) * f.Median / 1e9
					cell := num(gbs)
					if bw != nil && bw.Max > 0 {
						cell += " (" + pct(gbs/bw.Max) + ")"
					}
					row[6+i] = cell
				}
			}
			mt.rows = append(mt.rows, row)
		}
		if !r.compared(SuiteModel, name) {
			mt.dropColumns(4, 5, 7)
		}
		out = append(out, mt)
	}
	return out
}

func (r *Report) envLines() []string {
	e := r.Env
	lines := []string{
		fmt.Sprintf("cpu:    %s, %d cores, flags %s", orDash(e.CPU), e.Cores, orDash(strings.Join(e.CPUFlags, " "))),
		fmt.Sprintf("system: %s, kernel %s", e.OS, orDash(e.Kernel)),
		fmt.Sprintf("build:  pith %s (commit %s), %s, experiments %s", e.Version, e.Commit, e.GoVersion, orDash(e.Experiments)),
		fmt.Sprintf("paths:  kernel path %s (available: %s)", e.KernelPath, strings.Join(e.KernelPaths, ", ")),
	}
	for _, m := range e.Models {
		lines = append(lines, fmt.Sprintf("model:  %s, %s %s, %d bytes (%d read per token), sha256 %s", m.File, m.Arch, m.Type, m.Size, m.WeightBytes, m.SHA256))
	}
	if e.Llama != "" {
		lines = append(lines, "llama:  "+e.Llama)
	}
	if e.KVCache != "" {
		lines = append(lines, "cache:  pith's keys and values in "+e.KVCache+" in the model runs")
	}
	if e.ServeThreads > 0 {
		lines = append(lines, fmt.Sprintf("serve:  the servers started for the serve runs had -t %d (threads each)", e.ServeThreads))
	}
	return lines
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteText writes the report as aligned tables for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "pith bench, %s\n", r.Started.Format("2006-01-02 15:04:05 UTC"))
	for _, l := range r.envLines() {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	for _, t := range r.tables() {
		t.text(w)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	// The terminal is where a reader meets the shares' words first, so
	// it gets the same legend as Markdown, wrapped.
	fmt.Fprintln(w)
	_, err := fmt.Fprintln(w, wrap(r.figureLegend(), 76))
	return err
}

// WriteMarkdown writes the report as Markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "## pith bench, %s\n\n", r.Started.Format("2006-01-02 15:04:05 UTC"))
	for _, l := range r.envLines() {
		k, v, _ := strings.Cut(l, ":")
		fmt.Fprintf(w, "- **%s**: %s\n", k, strings.TrimSpace(v))
	}
	fmt.Fprintln(w)
	for _, t := range r.tables() {
		t.markdown(w)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "> note: "+n)
	}
	_, err := fmt.Fprintln(w, "\n"+r.figureLegend())
	return err
}

// figureLegend says what the tables' figures and shares are.
func (r *Report) figureLegend() string {
	note := "Each figure: median (min–max) of the repetitions; ratios between systems use medians; shares of a probe divide by its best sample (the machine's capability; the other samples saw other tenants), and a paired figure is the median of each sample divided by the larger of the probe samples taken just before and just after it (the same tenants; read bandwidth for decode, int8 for prefill), its layer-reads figure divides by the best layer-read sample (the same products read with nothing else, the threads meeting after each: the ceiling of decode's access pattern on this memory system), and its best figure is its best sample over the probe's best (each the nearest a run came to the machine without other tenants)"
	if r.compared(SuiteModel, "") {
		note += "; llama.cpp ran interleaved with pith on the same file and threads"
	}
	return note + "."
}

// wrap breaks s into lines of at most width characters between words.
func wrap(s string, width int) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(s) {
		n := utf8.RuneCountInString(word)
		if i > 0 {
			if line+1+n > width {
				b.WriteByte('\n')
				line = 0
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(word)
		line += n
	}
	return b.String()
}

// model returns the description of the model file named name, or nil.
func (r *Report) model(name string) *Model {
	for i := range r.Env.Models {
		if r.Env.Models[i].File == name {
			return &r.Env.Models[i]
		}
	}
	return nil
}

// mkey is a row of a model table.
type mkey struct {
	model, test string
	threads     int
	unit        string
}

// modelNames lists the models of rows in first-seen order.
func modelNames(rows []mkey) []string {
	var out []string
	for _, k := range rows {
		if !slices.Contains(out, k.model) {
			out = append(out, k.model)
		}
	}
	return out
}

// serveTable shows the serving figures: latency percentiles per system and
// concurrency, and what sealing costs against the plaintext API.
func (r *Report) serveTable() *table {
	var levels []int
	var systems []string
	for _, f := range r.Figures {
		if f.Suite != SuiteServe {
			continue
		}
		if !slices.Contains(levels, f.Threads) {
			levels = append(levels, f.Threads)
		}
		if !slices.Contains(systems, f.System) {
			systems = append(systems, f.System)
		}
	}
	if len(levels) == 0 {
		return nil
	}
	t := &table{title: "Serving: per-request times at each concurrency (p50 / p95 / p99)",
		header: []string{"system", "concurrency", "requests", "TTFT ms", "latency ms", "gen tok/s (median)", "throughput tok/s", "latency p50 vs pith-plaintext", "latency p50 vs llama.cpp"}}
	get := func(sys, test string, c int, unit string) *Figure {
		return r.Find(Key{Suite: SuiteServe, System: sys, Test: test, Threads: c, Unit: unit})
	}
	pcts := func(f *Figure) string {
		if f == nil {
			return "-"
		}
		return fmt.Sprintf("%s / %s / %s", num(Quantile(f.Samples, 0.5)), num(Quantile(f.Samples, 0.95)), num(Quantile(f.Samples, 0.99)))
	}
	vs := func(f, base *Figure) string {
		if f == nil || base == nil || f == base {
			return "-"
		}
		b := Quantile(base.Samples, 0.5)
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%+.1f%%", 100*(Quantile(f.Samples, 0.5)/b-1))
	}
	for _, c := range levels {
		for _, sys := range systems {
			lat := get(sys, "latency", c, UnitMillis)
			if lat == nil {
				continue
			}
			gen, thr := get(sys, "gen", c, UnitTokPerSec), get(sys, "throughput", c, UnitTokPerSec)
			g, th := "-", "-"
			if gen != nil {
				g = num(gen.Median)
			}
			if thr != nil {
				th = num(thr.Median)
			}
			t.rows = append(t.rows, []string{sys, fmt.Sprint(c), fmt.Sprint(len(lat.Samples)), pcts(get(sys, "ttft", c, UnitMillis)), pcts(lat), g, th,
				vs(lat, get(SystemPithPlain, "latency", c, UnitMillis)), vs(lat, get(SystemLlama, "latency", c, UnitMillis))})
		}
	}
	if !r.compared(SuiteServe, "") {
		t.dropColumns(8)
	}
	return t
}
