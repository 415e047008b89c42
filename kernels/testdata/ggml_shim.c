// ggml_shim: a test-only bridge from pith's Go tests to Debian's libggml,
// the reference nobody here wrote. It is compiled on the host at test time
// and run inside the Debian sid root (chroot), so that it loads sid's glibc
// and libggml. It declares the few functions it needs itself (ggml's ABI)
// and finds them with dlsym, so it needs no ggml headers.
//
// Usage (all data little-endian, rows back to back on stdin/stdout):
//   ggml_shim quantize   SYMBOL N ROWS OUTBYTES   F32 rows in, blocks out
//   ggml_shim dequantize SYMBOL N ROWS INBYTES    blocks in, F32 rows out
//   ggml_shim dot        SYMBOL N ROWS WBYTES XBYTES
//                                      (weight row, activation row) in, F32 out
//   ggml_shim size       TYPE          prints "blck_size type_size"
//   ggml_shim score      -             prints the CPU backend's
//                                      ggml_backend_score (0: this CPU lacks
//                                      the instructions it was built for)
// SYMBOL is a libggml-base or libggml-cpu function name, e.g.
// quantize_row_q4_K_ref, dequantize_row_q4_K, ggml_vec_dot_q4_K_q8_K_generic.
// The CPU backend library is $GGML_CPU_LIB (default: the x64 baseline one).
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*quant_fn)(const float *, void *, int64_t);
typedef void (*deq_fn)(const void *, float *, int64_t);
typedef void (*dot_fn)(int, float *, size_t, const void *, size_t, const void *, size_t, int);
typedef size_t (*type_size_fn)(int);
typedef int64_t (*blck_size_fn)(int);

static void die(const char *msg, const char *arg) {
	fprintf(stderr, "ggml_shim: %s %s\n", msg, arg ? arg : "");
	exit(2);
}

static void *xmalloc(size_t n) {
	void *p = calloc(1, n ? n : 1);
	if (!p) die("out of memory", NULL);
	return p;
}

static void read_all(void *buf, size_t n) {
	if (n && fread(buf, 1, n, stdin) != n) die("short input", NULL);
}

static void write_all(const void *buf, size_t n) {
	if (n && fwrite(buf, 1, n, stdout) != n) die("short write", NULL);
}

static void *sym(const char *name) {
	void *f = dlsym(RTLD_DEFAULT, name);
	if (!f) die("symbol not found:", name);
	return f;
}

int main(int argc, char **argv) {
	if (argc < 3) die("usage: ggml_shim quantize|dequantize|dot|size ...", NULL);
	if (!dlopen("libggml-base.so.0", RTLD_NOW | RTLD_GLOBAL)) die("dlopen libggml-base:", dlerror());
	const char *cpu = getenv("GGML_CPU_LIB");
	if (!cpu || !*cpu) cpu = "/usr/lib/x86_64-linux-gnu/ggml/backends0/libggml-cpu-x64.so";
	void *cpulib = dlopen(cpu, RTLD_NOW | RTLD_GLOBAL);
	if (!cpulib) die("dlopen cpu backend:", dlerror());
	if (!strcmp(argv[1], "score")) {
		// Ask before running anything: a variant built for instructions
		// this CPU lacks would die of SIGILL.
		int (*score)(void) = (int (*)(void))dlsym(cpulib, "ggml_backend_score");
		printf("%d\n", score ? score() : 0);
		return 0;
	}

	// The CPU backend's FP16 conversion tables are filled here; without it
	// every dot product reads scales of zero.
	((void (*)(void))sym("ggml_cpu_init"))();

	const char *op = argv[1];
	if (!strcmp(op, "size")) {
		int t = atoi(argv[2]);
		blck_size_fn blck = (blck_size_fn)sym("ggml_blck_size");
		type_size_fn size = (type_size_fn)sym("ggml_type_size");
		printf("%lld %zu\n", (long long)blck(t), size(t));
		return 0;
	}
	if (argc < 6) die("missing arguments", NULL);
	void *f = sym(argv[2]);
	long n = atol(argv[3]), rows = atol(argv[4]);
	size_t nb = (size_t)atol(argv[5]);
	if (n <= 0 || rows < 0) die("bad sizes", NULL);
	if (!strcmp(op, "quantize")) {
		float *x = xmalloc(sizeof(float) * n);
		void *y = xmalloc(nb);
		for (long r = 0; r < rows; r++) {
			read_all(x, sizeof(float) * n);
			memset(y, 0, nb); // quantize_row_q8_K_ref leaves bsums of zero blocks unset
			((quant_fn)f)(x, y, n);
			write_all(y, nb);
		}
	} else if (!strcmp(op, "dequantize")) {
		void *x = xmalloc(nb);
		float *y = xmalloc(sizeof(float) * n);
		for (long r = 0; r < rows; r++) {
			read_all(x, nb);
			((deq_fn)f)(x, y, n);
			write_all(y, sizeof(float) * n);
		}
	} else if (!strcmp(op, "dot")) {
		if (argc < 7) die("missing XBYTES", NULL);
		size_t xb = (size_t)atol(argv[6]);
		void *w = xmalloc(nb), *x = xmalloc(xb);
		for (long r = 0; r < rows; r++) {
			float s = 0;
			read_all(w, nb);
			read_all(x, xb);
			((dot_fn)f)((int)n, &s, 0, w, 0, x, 0, 1);
			write_all(&s, sizeof s);
		}
	} else {
		die("unknown operation", op);
	}
	return fflush(stdout) ? 1 : 0;
}
