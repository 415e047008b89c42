package pid1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ModuleDeps is a parsed modules.dep: for each module path (relative to
// the modules directory), the paths of the modules it needs, in the order
// modprobe lists them (the last must be loaded first).
type ModuleDeps struct {
	deps   map[string][]string
	byName map[string]string // module name -> path
}

const maxDepLine = 1 << 20

// ParseModulesDep parses the text of modules.dep ("path: dep dep ...").
func ParseModulesDep(r io.Reader) (*ModuleDeps, error) {
	md := &ModuleDeps{deps: map[string][]string{}, byName: map[string]string{}}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), maxDepLine)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		path, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("pid1: modules.dep line %d: no ':'", n)
		}
		if err := checkModPath(path); err != nil {
			return nil, fmt.Errorf("pid1: modules.dep line %d: %w", n, err)
		}
		if _, dup := md.deps[path]; dup {
			return nil, fmt.Errorf("pid1: modules.dep line %d: %s listed twice", n, path)
		}
		deps := strings.Fields(rest)
		for _, d := range deps {
			if err := checkModPath(d); err != nil {
				return nil, fmt.Errorf("pid1: modules.dep line %d: %w", n, err)
			}
		}
		md.deps[path] = deps
		name := ModuleName(path)
		if other, dup := md.byName[name]; dup {
			return nil, fmt.Errorf("pid1: modules.dep line %d: module %s at both %s and %s", n, name, other, path)
		}
		md.byName[name] = path
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("pid1: modules.dep: %w", err)
	}
	return md, nil
}

func checkModPath(p string) error {
	if p == "" || filepath.IsAbs(p) || p != filepath.Clean(p) || strings.HasPrefix(p, "..") || !strings.Contains(filepath.Base(p), ".ko") {
		return fmt.Errorf("bad module path %q", p)
	}
	return nil
}

// ModuleName is the name of the module at path: the file name without
// .ko and compression suffixes, with '-' as '_', as the kernel names it.
func ModuleName(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// LoadOrder returns the module paths to load, dependencies first, each
// once, for the named modules ('-' and '_' alike). A name that is not in
// modules.dep, a dependency that has no entry of its own, or a cycle is an
// error.
func (md *ModuleDeps) LoadOrder(names ...string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(path string, chain []string) error
	visit = func(path string, chain []string) error {
		switch state[path] {
		case 1:
			return fmt.Errorf("pid1: modules.dep: dependency cycle through %s", strings.Join(append(chain, path), " -> "))
		case 2:
			return nil
		}
		deps, ok := md.deps[path]
		if !ok {
			return fmt.Errorf("pid1: modules.dep: %s (needed by %s) has no entry", path, strings.Join(chain, " -> "))
		}
		state[path] = 1
		// modules.dep lists each module's whole dependency closure, the
		// deepest last; visiting them last to first loads the deepest
		// first, and the recursion keeps the order right even for a
		// modules.dep that lists only direct dependencies.
		for i := len(deps) - 1; i >= 0; i-- {
			if err := visit(deps[i], append(chain, path)); err != nil {
				return err
			}
		}
		state[path] = 2
		order = append(order, path)
		return nil
	}
	for _, n := range names {
		path, ok := md.byName[strings.ReplaceAll(n, "-", "_")]
		if !ok {
			return nil, fmt.Errorf("pid1: module %s is not in modules.dep", n)
		}
		if err := visit(path, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// LoadModules loads the named modules and their dependencies from dir
// (which holds modules.dep and the paths it names) with finit_module, in
// dependency order. Compressed modules (.ko.xz, .ko.zst, .ko.gz) are
// handed to the kernel to decompress (MODULE_INIT_COMPRESSED_FILE, needs
// CONFIG_MODULE_DECOMPRESS). A module that is already loaded or built in
// (EEXIST) is fine. params maps a module name to its parameter string,
// e.g. {"tiny_power_button": "power_signal=30"}.
func LoadModules(dir string, params map[string]string, names ...string) error {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return fmt.Errorf("pid1: %w", err)
	}
	md, err := ParseModulesDep(f)
	f.Close()
	if err != nil {
		return err
	}
	order, err := md.LoadOrder(names...)
	if err != nil {
		return err
	}
	for _, path := range order {
		name := ModuleName(path)
		if err := loadModule(filepath.Join(dir, path), params[name]); err != nil {
			return fmt.Errorf("pid1: load module %s: %w", name, err)
		}
		slog.Info("kernel module loaded", "module", name)
	}
	return nil
}

func loadModule(path, params string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	flags := 0
	if !strings.HasSuffix(path, ".ko") {
		flags |= unix.MODULE_INIT_COMPRESSED_FILE
	}
	err = unix.FinitModule(fd, params, flags)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}
