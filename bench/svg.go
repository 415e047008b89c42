package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Colours of the systems, fixed so that plots from different runs read
// the same way.
var systemColour = map[string]string{SystemPith: "#1f77b4", SystemPithPlain: "#9ecae1", SystemPithNoWipe: "#c7c7c7", SystemLlama: "#ff7f0e"}

var systemsInOrder = []string{SystemPith, SystemPithPlain, SystemPithNoWipe, SystemLlama}

type scenario struct {
	suite, model, test string
	threads            int
	prefix             string // the model's type when the report has several models
}

func (s scenario) label() string {
	if s.suite == SuiteServe {
		return fmt.Sprintf("serve %s c%d", s.test, s.threads)
	}
	return fmt.Sprintf("%s%s t%d", s.prefix, s.test, s.threads)
}

func (s scenario) key(system, unit string) Key {
	return Key{Suite: s.suite, System: system, Model: s.model, Test: s.test, Threads: s.threads, Unit: unit}
}

// WriteSVG draws the report's model figures: grouped bars of tokens/s by
// scenario with both systems side by side (whiskers span min to max), and,
// when the report has latencies, a panel with every latency sample.
func (r *Report) WriteSVG(w io.Writer) error {
	tps := r.scenarios(func(f *Figure) bool {
		return f.Unit == UnitTokPerSec && (f.Suite == SuiteModel || (f.Suite == SuiteServe && f.Test == "throughput"))
	})
	// Latency under load when there are serving results, else the model's
	// time to first token.
	lat := r.scenarios(func(f *Figure) bool { return f.Suite == SuiteServe && f.Unit == UnitMillis })
	if len(lat) == 0 {
		lat = r.scenarios(func(f *Figure) bool { return f.Suite == SuiteModel && f.Unit == UnitMillis })
	}
	if len(tps) == 0 && len(lat) == 0 {
		return fmt.Errorf("bench: plot: the report has no model figures to draw")
	}
	// Wide enough that every scenario's bars and label have room.
	const panelH, top, below = 340, 80, 110
	width := 960
	for _, n := range []int{len(tps), len(lat)} {
		width = max(width, 120+n*(22*len(systemsInOrder)+24))
	}
	height := top + 30
	if len(tps) > 0 {
		height += panelH + below
	}
	if len(lat) > 0 {
		height += panelH + below
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	title := "pith bench"
	var names []string
	for _, m := range r.Env.Models {
		names = append(names, m.File+" ("+m.Type+")")
	}
	if len(names) > 0 {
		title += ": " + strings.Join(names, ", ")
	}
	text(&b, 20, 24, "start", "16", title)
	text(&b, 20, 44, "start", "11", fmt.Sprintf("%s, %d cores, kernel path %s, %s", r.Env.CPU, r.Env.Cores, r.Env.KernelPath, r.Started.Format("2006-01-02 15:04 UTC")))
	r.legend(&b, 20, 66)
	y := top + 20
	if len(tps) > 0 {
		r.barPanel(&b, 70, y, width-100, panelH, "tokens/s (median; whiskers: min–max; higher is better)", tps, UnitTokPerSec)
		y += panelH + below
	}
	if len(lat) > 0 {
		r.stripPanel(&b, 70, y, width-100, panelH, "latency, ms (every sample; bar: median; lower is better)", lat, UnitMillis)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// scenarios lists the scenarios of the figures keep accepts, in report order.
func (r *Report) scenarios(keep func(*Figure) bool) []scenario {
	var out []scenario
	seen := map[scenario]bool{}
	models := map[string]bool{}
	for _, f := range r.Figures {
		if f.Suite == SuiteModel {
			models[f.Model] = true
		}
	}
	// The type is the shorter label, but names a model only when no two
	// models have it (a Qwen and a SmolLM file, both Q4_0, would draw as
	// one): otherwise the file names.
	byType := map[string]bool{}
	for name := range models {
		m := r.model(name)
		if m == nil || m.Type == "" || byType[m.Type] {
			byType = nil
			break
		}
		byType[m.Type] = true
	}
	for i := range r.Figures {
		f := &r.Figures[i]
		s := scenario{suite: f.Suite, model: f.Model, test: f.Test, threads: f.Threads}
		if len(models) > 1 {
			s.prefix = f.Model + " "
			if m := r.model(f.Model); m != nil && byType != nil {
				s.prefix = m.Type + " "
			}
		}
		if keep(f) && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func text(b *bytes.Buffer, x, y float64, anchor, size, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%s">`, x, y, anchor, size)
	xml.EscapeText(b, []byte(s))
	b.WriteString("</text>\n")
}

// legend lists the systems present, from x on its own line.
func (r *Report) legend(b *bytes.Buffer, x, y float64) {
	var present []string
	for _, s := range systemsInOrder {
		for _, f := range r.Figures {
			if f.System == s {
				present = append(present, s)
				break
			}
		}
	}
	for i, s := range present {
		xx := x + float64(i)*140
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="14" height="14" fill="%s"/>`+"\n", xx, y-11, systemColour[s])
		text(b, xx+20, y, "start", "12", s)
	}
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten, for axis ticks.
func niceMax(v float64) (top, step float64) {
	if !(v >= 1e-300 && v <= 1e300) { // also NaN; keeps every tick finite
		return 1, 0.2
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p, m * p / 5
		}
	}
	return 10 * p, 2 * p
}

func (r *Report) axes(b *bytes.Buffer, x, y, w, h float64, title string, top, step float64) {
	text(b, x, y-8, "start", "13", title)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x, y, x, y+h)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x, y+h, x+w, y+h)
	for i := range 6 { // niceMax makes top five steps
		v := step * float64(i)
		yy := y + h - v/top*h
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x+1, yy, x+w, yy)
		text(b, x-6, yy+4, "end", "11", num(v))
	}
}

// maxOf is the largest sample of any system in the scenarios, the top a
// panel's axis must reach.
func (r *Report) maxOf(scen []scenario, unit string) float64 {
	var hi float64
	for _, s := range scen {
		for _, sys := range systemsInOrder {
			if f := r.Find(s.key(sys, unit)); f != nil {
				hi = math.Max(hi, f.Max)
			}
		}
	}
	return hi
}

func (r *Report) barPanel(b *bytes.Buffer, x0, y0, w, h int, title string, scen []scenario, unit string) {
	x, y, fw, fh := float64(x0), float64(y0), float64(w), float64(h)
	top, step := niceMax(r.maxOf(scen, unit))
	r.axes(b, x, y, fw, fh, title, top, step)
	systems := r.panelSystems(scen, unit)
	group := fw / float64(len(scen))
	bar := math.Min(60, group*0.8/float64(len(systems)))
	for i, s := range scen {
		gx := x + group*float64(i) + (group-bar*float64(len(systems)))/2
		fmt.Fprintf(b, `<g class="scenario" data-scenario="%s">`+"\n", attr(s.label()))
		for j, sys := range systems {
			f := r.Find(s.key(sys, unit))
			if f == nil {
				continue
			}
			bx := gx + bar*float64(j)
			bh := f.Median / top * fh
			fmt.Fprintf(b, `<rect class="bar" data-system="%s" data-median="%g" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>`,
				attr(sys), f.Median, bx+1, y+fh-bh, bar-2, bh, systemColour[sys])
			xml.EscapeText(b, []byte(fmt.Sprintf("%s %s: %s %s", sys, s.label(), spread(f), unit)))
			b.WriteString("</title></rect>\n")
			cx := bx + bar/2
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", cx, y+fh-f.Min/top*fh, cx, y+fh-f.Max/top*fh)
			text(b, cx, y+fh-bh-4-math.Max(0, (f.Max-f.Median)/top*fh), "middle", "9", num(f.Median))
		}
		b.WriteString("</g>\n")
		slanted(b, x+group*(float64(i)+0.5), y+fh+14, s.label())
	}
}

// slanted writes an axis label turned 30 degrees, ending under its tick,
// so that long scenario names never run into each other.
func slanted(b *bytes.Buffer, x, y float64, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="11" transform="rotate(-30 %.1f %.1f)">`, x, y, x, y)
	xml.EscapeText(b, []byte(s))
	b.WriteString("</text>\n")
}

func (r *Report) stripPanel(b *bytes.Buffer, x0, y0, w, h int, title string, scen []scenario, unit string) {
	x, y, fw, fh := float64(x0), float64(y0), float64(w), float64(h)
	top, step := niceMax(r.maxOf(scen, unit))
	r.axes(b, x, y, fw, fh, title, top, step)
	systems := r.panelSystems(scen, unit)
	group := fw / float64(len(scen))
	lane := group * 0.8 / float64(len(systems))
	for i, s := range scen {
		gx := x + group*float64(i) + group*0.1
		fmt.Fprintf(b, `<g class="scenario" data-scenario="%s">`+"\n", attr(s.label()))
		for j, sys := range systems {
			f := r.Find(s.key(sys, unit))
			if f == nil {
				continue
			}
			cx := gx + lane*(float64(j)+0.5)
			fmt.Fprintf(b, `<g class="samples" data-system="%s">`+"\n", attr(sys))
			for k, v := range f.Samples {
				jitter := (float64(k%5) - 2) * lane / 12
				fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s" fill-opacity="0.6"/>`+"\n", cx+jitter, y+fh-v/top*fh, systemColour[sys])
			}
			my := y + fh - f.Median/top*fh
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black" stroke-width="2"/>`+"\n", cx-lane/3, my, cx+lane/3, my)
			b.WriteString("</g>\n")
		}
		b.WriteString("</g>\n")
		slanted(b, x+group*(float64(i)+0.5), y+fh+14, s.label())
	}
}

func attr(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// panelSystems lists the systems with a figure in any of scen, so that a
// panel leaves no gap for a system it does not show.
func (r *Report) panelSystems(scen []scenario, unit string) []string {
	var out []string
	for _, sys := range systemsInOrder {
		for _, s := range scen {
			if r.Find(s.key(sys, unit)) != nil {
				out = append(out, sys)
				break
			}
		}
	}
	if len(out) == 0 {
		out = systemsInOrder[:1]
	}
	return out
}
