# Sputnik: `make` prints the menu. .ci/run uses these same targets.
GO ?= go
PKGS := ./...

.PHONY: help build test race purego avx2 invariants nocgo fuzz bench lint check
help:
	@echo "make build       build ./sputnik (CGO_ENABLED=0)"
	@echo "make test        lint + unit tests (the README's test command)"
	@echo "make race        short -race pass, with the invariant checks (-tags invariants)"
	@echo "make avx2        kernel and model tests as on a CPU without AVX-512"
	@echo "make purego      tests with the pure-Go reference kernels only"
	@echo "make invariants  tests with the expensive checks (-tags invariants: NaN/Inf after each layer)"
	@echo "make nocgo       check that CGO_ENABLED=0 builds"
	@echo "make fuzz        run every fuzz target briefly (FUZZTIME=10m: a campaign)"
	@echo "make bench       Go benchmarks"
	@echo "make lint        gofmt, go vet, the dependency test"

build:
	CGO_ENABLED=0 $(GO) build -o sputnik ./cmd/sputnik

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test -count=1 ./internal/deps

test: lint
	$(GO) test -count=1 $(PKGS)

race:
	$(GO) test -count=1 -race -short -tags invariants $(PKGS)

purego:
	$(GO) test -count=1 -short -tags purego $(PKGS)

# make avx2: the kernels and models as on a CPU without AVX-512 (AVX2, FMA,
# F16C: Zen 2/3, Intel client cores), whatever this CPU has.
avx2:
	GODEBUG=cpu.avx512f=off $(GO) test -count=1 -short ./internal/kernel/ ./internal/engine/ ./internal/models/ ./internal/model/...

invariants:
	$(GO) test -count=1 -short -tags invariants $(PKGS)

nocgo:
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/sputnik

# make fuzz: every target for its execution count in scripts/fuzz.sh (CI).
# make fuzz FUZZTIME=10m (or =5000000x): a campaign, each target that long.
# FUZZ=regexp picks targets: make fuzz FUZZ=Quantize FUZZTIME=10m.
FUZZTIME ?=
FUZZ ?=
fuzz:
	GO=$(GO) FUZZ='$(FUZZ)' scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

check: test race purego nocgo fuzz
