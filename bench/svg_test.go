package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"strings"
	"testing"
)

type svgElem struct {
	name  string
	attrs map[string]string
	path  []string // enclosing element names and classes
}

// parseSVG checks that data is well-formed XML with an svg root and
// returns every element with its attributes.
func parseSVG(t *testing.T, data []byte) []svgElem {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var out []svgElem
	var stack []string
	var scen []string
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = e.Name.Local
				if e.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("root namespace %q", e.Name.Space)
				}
			}
			a := map[string]string{}
			for _, at := range e.Attr {
				a[at.Name.Local] = at.Value
			}
			if s, ok := a["data-scenario"]; ok {
				scen = append(scen, s)
			} else {
				scen = append(scen, "")
			}
			stack = append(stack, e.Name.Local)
			sc := ""
			for _, s := range scen {
				if s != "" {
					sc = s
				}
			}
			a["scenario"] = sc
			out = append(out, svgElem{name: e.Name.Local, attrs: a, path: append([]string{}, stack...)})
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			scen = scen[:len(scen)-1]
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q", root)
	}
	return out
}

func TestWriteSVG(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	elems := parseSVG(t, b.Bytes())
	bars := map[string]map[string]string{} // scenario -> system -> median
	circles, texts := 0, 0
	for _, e := range elems {
		switch {
		case e.name == "rect" && e.attrs["class"] == "bar":
			if bars[e.attrs["scenario"]] == nil {
				bars[e.attrs["scenario"]] = map[string]string{}
			}
			bars[e.attrs["scenario"]][e.attrs["data-system"]] = e.attrs["data-median"]
		case e.name == "circle":
			circles++
		case e.name == "text":
			texts++
		}
	}
	want := map[string]map[string]string{
		"pp128 t2": {SystemPith: "100", SystemLlama: "200"},
		"tg64 t2":  {SystemPith: "20", SystemLlama: "40"},
	}
	for sc, systems := range want {
		for sys, med := range systems {
			if got := bars[sc][sys]; got != med {
				t.Errorf("bar %s/%s median %q, want %q (bars %v)", sc, sys, got, med, bars)
			}
		}
	}
	// The latency panel draws each TTFT sample.
	if circles != 3 {
		t.Errorf("%d latency samples drawn, want 3", circles)
	}
	if !strings.Contains(b.String(), "latency") || texts < 10 {
		t.Errorf("labels missing (%d texts)", texts)
	}
}

func TestWriteSVGEscapes(t *testing.T) {
	r := sampleReport()
	r.Env.CPU = `<script>&"'`
	r.Env.Models[0].File = "a<b>&c.gguf"
	var b bytes.Buffer
	if err := r.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	parseSVG(t, b.Bytes())
	if strings.Contains(b.String(), "<script>") {
		t.Fatal("text not escaped")
	}
}

func TestWriteSVGNothingToDraw(t *testing.T) {
	if err := NewReport(Env{}).WriteSVG(io.Discard); err == nil {
		t.Fatal("empty report drew a plot")
	}
}

// With several models, each scenario's label names its model: by type
// when the types tell them apart, else by file name.
func TestWriteSVGLabelsModels(t *testing.T) {
	for _, c := range []struct {
		name         string
		typeA, typeB string
		want         []string
	}{
		{"types differ", "Q4_0", "Q8_0", []string{"Q4_0 tg64 t1", "Q8_0 tg64 t1"}},
		{"one type", "Q4_0", "Q4_0", []string{"qwen.gguf tg64 t1", "smollm.gguf tg64 t1"}},
		{"a type unknown", "Q4_0", "", []string{"qwen.gguf tg64 t1", "smollm.gguf tg64 t1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewReport(Env{Models: []Model{{File: "qwen.gguf", Type: c.typeA}, {File: "smollm.gguf", Type: c.typeB}}})
			for i, m := range r.Env.Models {
				r.Add(Figure{Suite: SuiteModel, System: SystemPith, Model: m.File, Test: "tg64", Threads: 1, Unit: UnitTokPerSec, Samples: []float64{float64(10 + i)}})
			}
			var b bytes.Buffer
			if err := r.WriteSVG(&b); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range parseSVG(t, b.Bytes()) {
				if e.name == "rect" && e.attrs["class"] == "bar" {
					got = append(got, e.attrs["scenario"])
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("bars labelled %q, want %q", got, c.want)
			}
		})
	}
}
