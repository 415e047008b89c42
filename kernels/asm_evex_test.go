package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// No assembly of the package shifts by an immediate count straight from
// memory (VPSRLW $4, (R9), Y7): only the EVEX form of those instructions
// takes a memory source, so Go's assembler encodes it for AVX512BW and
// AVX512VL, and an avx2 kernel written that way passes every test on an
// AVX-512 machine (PITH_KERNELS=avx2 included) but faults with SIGILL on
// the AVX2-only CPUs the avx2 path is for. The AVX-512 kernels load
// first as well, so the rule holds for every file.
func TestAsmNoEVEXOnlyShifts(t *testing.T) {
	files, err := filepath.Glob("*.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no assembly files found (%v)", err)
	}
	shiftMem := regexp.MustCompile(`\bVPS(RL|LL|RA)(W|D|Q|DQ)\s+\$[^,]+,\s*[^,;]*\(`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range shiftMem.FindAllIndex(src, -1) {
			line := 1
			for _, c := range src[:m[0]] {
				if c == '\n' {
					line++
				}
			}
			t.Errorf("%s:%d: %s: a shift by an immediate from memory is EVEX-only (AVX512BW/VL); load the operand first", f, line, src[m[0]:m[1]])
		}
	}
}
