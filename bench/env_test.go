package bench

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseCPUInfo(t *testing.T) {
	const info = `processor	: 0
vendor_id	: AuthenticAMD
model name	: AMD EPYC 9B45
flags		: fpu sse4_2 avx avx2 fma f16c bmi2 avx512f avx512bw avx512_vnni
bugs		: sysret_ss_attrs

processor	: 1
model name	: something else
flags		: fpu
`
	name, flags := parseCPUInfo(strings.NewReader(info))
	if name != "AMD EPYC 9B45" {
		t.Fatalf("name %q", name)
	}
	if want := []string{"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512bw", "avx512_vnni"}; !reflect.DeepEqual(flags, want) {
		t.Fatalf("flags %v, want %v", flags, want)
	}
	if n, f := parseCPUInfo(strings.NewReader("garbage\n::\n")); n != "" || f != nil {
		t.Fatalf("garbage gave %q %v", n, f)
	}
}

func TestCollectEnv(t *testing.T) {
	e := CollectEnv("v1.2.3", "")
	if e.Version != "v1.2.3" || e.Commit == "" || e.GoVersion == "" || e.Cores < 1 || e.KernelPath == "" || len(e.KernelPaths) == 0 {
		t.Fatalf("env %+v", e)
	}
	if e2 := CollectEnv("", "deadbeef"); e2.Commit != "deadbeef" || e2.Version == "" {
		t.Fatalf("env %+v", e2)
	}
}

func TestParseVmHWM(t *testing.T) {
	for _, c := range []struct {
		status string
		want   float64
		ok     bool
	}{
		{"Name:\tpith\nVmPeak:\t  900 kB\nVmHWM:\t  524288 kB\nVmRSS:\t 1 kB\n", 512, true},
		{"VmHWM:\t0 kB\n", 0, true},
		{"Name:\tpith\n", 0, false},
		{"VmHWM:\t12 MB\n", 0, false},
		{"VmHWM:\t-5 kB\n", 0, false},
		{"VmHWM:\n", 0, false},
	} {
		got, err := parseVmHWM([]byte(c.status))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseVmHWM(%q) = %v, %v", c.status, got, err)
		}
	}
	own, err := vmHWM(os.Getpid())
	if err != nil || own < 1 {
		t.Fatalf("own VmHWM %v MiB, %v", own, err)
	}
}
