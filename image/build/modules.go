package build

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
)

// moduleName is the kernel's name for a module file: the base name without
// .ko and a compression suffix, '-' as '_' (as runtime/pid1 and modprobe do).
func moduleName(p string) string {
	base := path.Base(p)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// moduleSet is the result of resolving the wanted modules: their paths
// (relative to the modules folder) and each one's whole dependency closure.
type moduleSet struct {
	paths []string            // sorted
	deps  map[string][]string // path -> closure, deepest last (modules.dep order)
}

// resolveModules finds the named modules among files (path relative to the
// modules folder -> compressed module) and adds their dependencies, read
// from each module's modinfo. decompress turns a module file into its ELF.
func resolveModules(ctx context.Context, files map[string][]byte, names []string, decompress func(context.Context, []byte) ([]byte, error)) (*moduleSet, error) {
	byName := map[string]string{}
	for p := range files {
		n := moduleName(p)
		if other, dup := byName[n]; dup {
			return nil, fmt.Errorf("build: module %s at both %s and %s", n, other, p)
		}
		byName[n] = p
	}
	direct := map[string][]string{} // path -> direct dependency paths
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		p, ok := byName[strings.ReplaceAll(name, "-", "_")]
		if !ok {
			return fmt.Errorf("build: kernel module %s (needed by %v) is not in the kernel package", name, chain)
		}
		if _, done := direct[p]; done {
			return nil
		}
		for _, c := range chain {
			if c == name {
				return fmt.Errorf("build: kernel modules: dependency cycle %v", append(chain, name))
			}
		}
		ko, err := decompress(ctx, files[p])
		if err != nil {
			return fmt.Errorf("build: kernel module %s: %w", p, err)
		}
		names, err := ModinfoDepends(ko)
		if err != nil {
			return fmt.Errorf("build: kernel module %s: %w", p, err)
		}
		for _, d := range names {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		sort.Strings(names)
		ds := make([]string, len(names))
		for i, d := range names {
			ds[i] = byName[strings.ReplaceAll(d, "-", "_")]
		}
		direct[p] = ds
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	ms := &moduleSet{deps: map[string][]string{}}
	for p := range direct {
		ms.paths = append(ms.paths, p)
		ms.deps[p] = closure(p, direct)
	}
	sort.Strings(ms.paths)
	return ms, nil
}

// closure lists p's dependencies as depmod does: in load order reversed,
// so the one to load first comes last.
func closure(p string, direct map[string][]string) []string {
	var order []string
	seen := map[string]bool{p: true}
	var walk func(string)
	walk = func(q string) {
		for _, d := range direct[q] {
			if !seen[d] {
				seen[d] = true
				walk(d)
				order = append(order, d)
			}
		}
	}
	walk(p)
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// modulesDep is the text of modules.dep for the set, sorted by path.
func (ms *moduleSet) modulesDep() []byte {
	var b strings.Builder
	for _, p := range ms.paths {
		b.WriteString(p)
		b.WriteByte(':')
		for _, d := range ms.deps[p] {
			b.WriteByte(' ')
			b.WriteString(d)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
