# hearth: `make run` runs a single-machine server, `make test` runs every test tier.
# Both set up what they need on a bare Debian machine (Docker Engine, the runtime build images;
# for `make test` also an image registry, a Nomad dev agent on loopback and Debian's chromium).

GO       ?= go
BIN      := bin/hearth
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
ADDR     ?= 127.0.0.1:8080
DATA_DIR ?= $(HOME)/.hearth
FUZZTIME ?= 30s

# Builds that fetch dependencies (npm) must trust the machine's CA bundle on networks that
# inspect TLS; the server (and the e2e tests' servers) read it from the environment.
HEARTH_BUILD_CA_BUNDLE ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
export HEARTH_BUILD_CA_BUNDLE

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/hearth (static, no cgo)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hearth

.PHONY: env-up
env-up: ## Install and start the Docker Engine when missing
	@bash scripts/docker.sh

.PHONY: nomad-up
nomad-up: env-up ## Start the image registry and a Nomad dev agent when missing (builds Nomad once per machine)
	@bash scripts/registry.sh
	@bash scripts/nomad.sh

.PHONY: browser
browser: ## Install Debian's chromium when missing (the dashboard's browser tests and bench row)
	@bash scripts/chromium.sh

.PHONY: images
images: build env-up ## Make the runtimes' build images when missing
	$(BIN) images bootstrap

.PHONY: run
run: images ## Run `hearth server --dev` on $(ADDR) with data in $(DATA_DIR)
	$(BIN) server --dev --addr $(ADDR) --data-dir $(DATA_DIR)

.PHONY: test
test: images nomad-up browser ## Run unit, integration and end-to-end tests (needs Docker, the registry, Nomad and chromium: set up here)
	HEARTH_BIN=$(abspath $(BIN)) $(GO) test -count=1 -timeout 30m -tags 'integration e2e' ./...

.PHONY: bench
bench: images nomad-up browser ## Measure hearth beside the raw floors; prints a table, writes bench-results/bench.json
	$(GO) run ./bench -bin $(BIN)

# Each fuzz target and its package. Their seed corpora (f.Add and testdata/fuzz/) run in every
# `go test`; `make fuzz` searches past them. The minimisation of each new input is cut short:
# its default minute would eat most of a short run.
FUZZ_TARGETS := FuzzParse:./runtimes/funcfile FuzzExtract:./builder/buildctx \
	FuzzDecodeConfigPatch:./scheduler/httpapi FuzzInvokeTarget:./scheduler/httpapi

.PHONY: fuzz
fuzz: ## Run each fuzz target for $(FUZZTIME) in turn (e.g. make fuzz FUZZTIME=5m)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== $${t%%:*} ($${t#*:}) for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$${t%%:*}$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s -timeout=0 "$${t#*:}"; \
	done

.PHONY: test-unit
test-unit: ## Run the unit tests only (no Docker)
	$(GO) test -count=1 ./...

.PHONY: check
check: ## gofmt, go vet and the import rules
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags 'integration e2e' ./...
	@bash scripts/check-imports.sh

.PHONY: proto
proto: ## Regenerate the driver plugin's gRPC code (needs protoc, protoc-gen-go, protoc-gen-go-grpc)
	$(GO) generate ./agent/driver/plugin/...

.PHONY: clean
clean: ## Remove bin/
	rm -rf bin
