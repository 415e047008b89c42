package kernels

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// Each avx512 decode kernel (with its records) uses exactly the
// instructions of AVX512_VBMI, GFNI and AVX512_BITALG that
// avx512DecodeNeeds lists for its type. One it used unlisted would end the
// process with SIGILL on a CPU without it (Cascade Lake has AVX-512 VNNI and
// none of the three), which no test on a CPU that has it can see; one
// listed unused would send such CPUs to the avx2 kernel for nothing. The
// instructions are read from the assembly, macros expanded.
func TestAVX512DecodeNeeds(t *testing.T) {
	bodies := asmBodies(t)
	patterns := []struct {
		re  *regexp.Regexp
		set func(*avx512Needs)
	}{
		{regexp.MustCompile(`\b(VPERMB|VPERMT2B|VPERMI2B|VPMULTISHIFTQB)\b`), func(n *avx512Needs) { n.vbmi = true }},
		{regexp.MustCompile(`\bVGF2P8`), func(n *avx512Needs) { n.gfni = true }},
		{regexp.MustCompile(`\bVPSHUFBITQMB\b`), func(n *avx512Needs) { n.bitalg = true }},
	}
	checked := 0
	for typ, k := range decodes["avx512"] {
		want := avx512DecodeNeeds[typ]
		if !want.met() {
			continue // this CPU lacks one: the avx2 kernel stands in
		}
		var got avx512Needs
		for _, fn := range []any{k.rows, k.records} {
			if reflect.ValueOf(fn).IsNil() {
				continue
			}
			name := asmName(fn)
			body, ok := bodies[name]
			if !ok {
				t.Fatalf("%v: no assembly for %s", typ, name)
			}
			for _, p := range patterns {
				if p.re.MatchString(body) {
					p.set(&got)
				}
			}
		}
		if got != want {
			t.Errorf("%v: the kernel uses %+v, avx512DecodeNeeds lists %+v", typ, got, want)
		}
		checked++
	}
	if checked == 0 {
		t.Skip("no avx512 decode kernel runs on this CPU")
	}
}

// asmName is the TEXT symbol of an assembly function value.
func asmName(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	name = strings.TrimSuffix(name, ".abi0")
	return name[strings.LastIndex(name, ".")+1:]
}

// asmBodies reads the package's assembly: each function's text (to the
// next function or macro definition) with the bodies of the macros it
// names and the functions it jumps to or calls added, recursively;
// comments dropped.
func asmBodies(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*_amd64.[sh]")
	if err != nil || len(files) == 0 {
		t.Fatalf("no assembly files found (%v)", err)
	}
	comment := regexp.MustCompile(`//[^\n]*`)
	define := regexp.MustCompile(`(?m)^#define (\w+)(?:[^\n]*\\\n)*[^\n]*`)
	text := regexp.MustCompile(`(?m)^TEXT ·(\w+)\(SB\)`)
	macros := map[string]string{}
	raw := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := comment.ReplaceAllString(string(b), "")
		for _, m := range define.FindAllStringSubmatch(src, -1) {
			macros[m[1]] = m[0]
		}
		locs := text.FindAllStringSubmatchIndex(src, -1)
		for i, l := range locs {
			end := len(src)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			body := src[l[1]:end]
			if j := strings.Index(body, "\n#define"); j >= 0 {
				body = body[:j]
			}
			raw[src[l[2]:l[3]]] = body
		}
	}
	word := regexp.MustCompile(`·?\w+`)
	var expand func(s string, seen map[string]bool) string
	expand = func(s string, seen map[string]bool) string {
		var out strings.Builder
		out.WriteString(s)
		for _, w := range word.FindAllString(s, -1) {
			name := strings.TrimPrefix(w, "·")
			if seen[name] {
				continue
			}
			if m, ok := macros[name]; ok && w == name {
				seen[name] = true
				out.WriteString("\n" + expand(m, seen))
			} else if f, ok := raw[name]; ok && w != name {
				seen[name] = true
				out.WriteString("\n" + expand(f, seen))
			}
		}
		return out.String()
	}
	bodies := map[string]string{}
	for name, body := range raw {
		bodies[name] = expand(body, map[string]bool{name: true})
	}
	return bodies
}
