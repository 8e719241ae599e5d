# Freshet: build, test, benchmark and lint.
GO      ?= go
PKGS    ?= ./...
TIMEOUT ?= 30m

.PHONY: build test unit e2e lint verify-codegen codegen bench clean test-binaries

## build: compile every command into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## test: everything CI runs: lint, generated-code check, all tests with -race
## (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl
## for the control-plane tests are built from the Go module proxy once and
## cached; see hack/test-binaries.sh)
test: lint verify-codegen
	assets="$$(hack/test-binaries.sh)" && \
	  KUBEBUILDER_ASSETS="$$assets" $(GO) test -race -count=1 -timeout $(TIMEOUT) $(PKGS)

## unit: tests without the lint steps
unit:
	assets="$$(hack/test-binaries.sh)" && \
	  KUBEBUILDER_ASSETS="$$assets" $(GO) test -race -count=1 -timeout $(TIMEOUT) $(PKGS)

## e2e: Freshet on a real local Kubernetes control plane with a process
## node (test/e2e/kube), verbose so that it reports its figures; `make test`
## runs it too, among all the other packages
e2e:
	assets="$$(hack/test-binaries.sh)" && \
	  KUBEBUILDER_ASSETS="$$assets" $(GO) test -race -count=1 -v -timeout $(TIMEOUT) ./test/e2e/kube/

## test-binaries: build (once, cached) etcd, kube-apiserver, kube-controller-manager,
## kube-scheduler and kubectl
test-binaries:
	@hack/test-binaries.sh >/dev/null

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
