# SAM — two commands on a fresh machine: `make run` and `make test`.
# Everything the tests need (the ZetaSQL local service, Chromium for the
# report test) is installed here, not by hand.

GO        ?= go
BIN       ?= bin/sam
DATA      ?= ./data
DAYS      ?= 60
SEED      ?= 42
TOOLS     := .tools

# One source of truth for how the binary is built: the Dockerfile runs
# `make build` too (checked by tests/buildcheck).
BUILD_FLAGS := -trimpath -ldflags "-s -w -X main.version=$(shell git describe --always --dirty 2>/dev/null || echo dev)"

.PHONY: build run test bench tools sqlcheck browser vet fmt clean

build:
	CGO_ENABLED=1 $(GO) build $(BUILD_FLAGS) -o $(BIN) ./cmd/sam

# Local simulators of Google Ads, Meta and LinkedIn run beside sam (never
# inside it); GA4 goes to sam's own local sink.
run: build
	@test -d $(DATA)/ga4 || $(BIN) generate --out $(DATA) --days $(DAYS) --seed $(SEED)
	CGO_ENABLED=1 $(GO) build -o bin/localsims ./tests/localsims
	bin/localsims -dir $(DATA)/sims -- $(BIN) run
	$(BIN) report --out report.html

# The ZetaSQL local service for the offline BigQuery SQL checks; the script
# returns at once when the installed version is current.
tools:
	bash tools/zetasql/install.sh $(TOOLS)/zetasql

sqlcheck: tools
	SAM_REQUIRE_ZETASQL=1 $(GO) test -count=1 ./tools/zetasql/... ./tests/bigquerysql/...

# Debian's Chromium renders the HTML report in the browser test.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium for the report browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

test: tools browser vet
	SAM_REQUIRE_ZETASQL=1 SAM_REQUIRE_BROWSER=1 $(GO) test -count=1 -timeout 20m ./...

bench: build tools
	bash tests/bench/run.sh

clean:
	rm -rf bin $(DATA) sam.duckdb sam.duckdb.wal report.html
