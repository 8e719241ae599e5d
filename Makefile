# Freshet: build, test, benchmark and lint.
GO      ?= go
PKGS    ?= ./...
TIMEOUT ?= 30m

.PHONY: build test unit lint verify-codegen codegen bench clean

## build: compile every command into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## test: everything CI runs: lint, generated-code check, all tests with -race
test: lint verify-codegen
	$(GO) test -race -count=1 -timeout $(TIMEOUT) $(PKGS)

## unit: tests without the lint steps
unit:
	$(GO) test -race -count=1 -timeout $(TIMEOUT) $(PKGS)

## lint: go vet and gofmt
lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## codegen: regenerate deepcopy functions and CRDs
codegen:
	hack/update-codegen.sh

## verify-codegen: fail if generated code is stale
verify-codegen:
	hack/verify-codegen.sh

## bench: the benchmark table of docs/benchmarks.md
bench:
	$(GO) run ./test/bench

clean:
	rm -rf bin .freshet
