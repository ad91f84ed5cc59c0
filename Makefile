# waggle — make targets. `make run` starts a server on the embedded store;
# `make test` runs every test (the command CI runs).

GO       ?= go
BIN      ?= bin/waggle
DATA_DIR ?= waggle-data
PKGS     := ./...
# Benchmarks: which packages and how long each runs.
BENCH_PKGS ?= ./...
BENCHTIME  ?= 1x

.PHONY: run demo build test test-short bench fuzz lint fmt clean ui ui-check

run: build
	WAGGLE_DATA_DIR=$${WAGGLE_DATA_DIR:-$(DATA_DIR)} ./$(BIN) serve

# The Cruddur week-2 demo: waggle on ./waggle-demo, the instrumented Cruddur
# API (OTel, X-Ray, CloudWatch Logs, Rollbar) and its load; prints the UI
# and the homework query's link. DEMO_FLAGS go to `waggle demo`.
DEMO_FLAGS ?=
demo: build
	./$(BIN) demo -data-dir waggle-demo $(DEMO_FLAGS)

build:
	$(GO) build -o $(BIN) ./cmd/waggle

# Every test, with the race detector on the packages that have no cgo store
# underneath, then vet and formatting.
test: lint ui-check
	$(GO) test -count=1 -timeout 30m $(PKGS)
	$(GO) test -count=1 -race -timeout 20m ./internal/ingest/... ./internal/config/... ./internal/event/...

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Performance targets live in benchmarks; figures go to docs/BENCHMARKS.md.
# Builds waggle afresh, measures ingest through the binary and queries over
# 10 M events (generated once, cached in bench-data/) against raw SQL on the
# same files; about 10 minutes on 2 cores. BENCH_FLAGS go to the harness, e.g.
# BENCH_FLAGS='-events 1000000 -ingest-duration 20s' for a quick run; every
# flag also reads a BENCH_* variable (go run ./cmd/waggle-bench -h).
BENCH_FLAGS ?=
bench:
	$(GO) run ./cmd/waggle-bench -out docs/BENCHMARKS.md $(BENCH_FLAGS)

# A short run of every fuzz target (the committed corpus runs in `make test`).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The web UI (web/, Vite + Preact + uPlot) is built into internal/ui/dist and
# committed, so `go build` needs no Node. `make ui` rebuilds it; `ui-check`
# (part of `make test`) fails when the committed bundle is stale or the
# first load's JavaScript is over 300 KB gzipped.
ui:
	cd web && npm ci --no-audit --no-fund --loglevel=error && npx --no-install vite build

ui-check:
	bash web/scripts/ui-check.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin $(DATA_DIR)
