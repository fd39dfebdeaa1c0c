# avo: the Archive for Education metadata pipeline.
#
#   make demo   run the whole pipeline once on a local stack (no Docker)
#   make test   lint (gofmt, go vet, workflowcheck, layout), unit and integration tests on real servers
#   make help   everything else

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
BIN      := $(CURDIR)/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)

VERSITYGW_VERSION     := v1.8.0
WORKFLOWCHECK_VERSION := v0.6.0

# Tools are installed into bin/ by `go install` at pinned versions; a stamp
# per version makes a version change reinstall.
VERSITYGW     := $(BIN)/.versitygw-$(VERSITYGW_VERSION)
WORKFLOWCHECK := $(BIN)/.workflowcheck-$(WORKFLOWCHECK_VERSION)

.PHONY: help build tools deps browser xsltproc xmllint demo dev test fuzz lint fmt bench image clean distclean

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# avo-temporal is the local stack's Temporal server, kept out of avo.
build: ## build bin/avo and bin/avo-temporal
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/avo ./cmd/avo
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/avo-temporal ./cmd/avo-temporal

# The image is built without a container engine: a static avo on an empty
# base (internal/image), written as an OCI layout and a tarball.
IMAGE ?= avo:$(VERSION)
image: ## build the container image: bin/image (OCI layout) and bin/avo-image.tar (podman/docker load)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/linux-amd64/avo ./cmd/avo
	$(GO) run ./cmd/avo-image -binary $(BIN)/linux-amd64/avo -version $(VERSION) -tag $(IMAGE) -oci $(BIN)/image -tar $(BIN)/avo-image.tar

tools: $(VERSITYGW) $(WORKFLOWCHECK) ## install versitygw and workflowcheck into bin/

$(VERSITYGW):
	GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)
	touch $@

$(WORKFLOWCHECK):
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)
	touch $@

# Elasticsearch needs a JDK and Maven fetches it; both come from the
# system's packages when missing (Debian/Ubuntu, as root).
deps: ## check for (and on Debian install) Java 17+ and Maven
	@if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then \
	  $(call install,openjdk-17-jdk-headless maven,a JDK 17+ and Maven); \
	fi

# The search page is tested in headless Chromium.
browser: ## check for (and on Debian install) Chromium
	@if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then \
	  $(call install,chromium,Chromium); \
	fi

# The per-record step is measured beside an XSLT transform by xsltproc.
xsltproc:
	@if ! command -v xsltproc >/dev/null; then \
	  $(call install,xsltproc,xsltproc); \
	fi

# What avo serves partners over OAI-PMH is checked against the XML Schemas
# by xmllint.
xmllint:
	@if ! command -v xmllint >/dev/null; then \
	  $(call install,libxml2-utils,xmllint); \
	fi

# install PACKAGES,WHAT: from the system's packages when root on Debian/Ubuntu.
define install
if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing $(2) from the system packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
	else \
	  echo "$(2) needed: install $(1) with your package manager" >&2; exit 1; \
	fi
endef

demo: deps tools build ## run the pipeline end to end on the local stack and print a summary
	$(BIN)/avo demo

# Ports of `make dev`, e.g. `make dev ES_PORT=9201 S3_PORT=7071`.
ES_PORT       ?= 9200
S3_PORT       ?= 7070
TEMPORAL_PORT ?= 7233
OAI_PORT      ?= 7080
IDP_PORT      ?= 8180
UI_PORT       ?= 8233

dev: deps tools build ## run the local stack, a worker and the sample sources until Ctrl-C (ES_PORT, S3_PORT, TEMPORAL_PORT, OAI_PORT, IDP_PORT, UI_PORT)
	$(BIN)/avo dev --es-port $(ES_PORT) --s3-port $(S3_PORT) --temporal-port $(TEMPORAL_PORT) --oai-port $(OAI_PORT) --idp-port $(IDP_PORT) --ui-port $(UI_PORT)

# Every parser entry point has a fuzz target; make test runs each briefly,
# make fuzz longer (FUZZTIME=2000000x make fuzz). The budget is a count of
# inputs, not a duration: with a duration Go 1.26's fuzz coordinator can
# report its own deadline as a failure when a worker is mid-input at the
# end (go.dev/issue/75804), with no failing input behind it.
FUZZTIME ?= 20000x
FUZZ_TARGETS := ./internal/oaipmh:FuzzParseList ./internal/turtle:FuzzParse ./internal/rdfio:FuzzRead \
	./internal/sources:FuzzParse ./mappings:FuzzMap ./mappings:FuzzDerivedID

fuzz: ## run every fuzz target for FUZZTIME inputs (default 20000x)
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
	  out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { echo "$$out" | tail -40; exit 1; }; \
	  echo "$$out" | tail -1; \
	done

# The servers come from `avo dev run`, which starts Elasticsearch and
# versitygw on free ports and stops them afterwards, also when tests fail.
test: deps browser xmllint tools lint build fuzz ## lint, fuzz briefly, then unit and integration tests against real servers
	@mkdir -p .cache
	$(BIN)/avo dev run -- $(GO) test -count=1 -timeout 25m -v ./... 2>&1 \
	  | grep --line-buffered -vE '^=== (RUN|PAUSE|CONT)|^\s+--- PASS' \
	  | tee $(CURDIR)/.cache/test.log
	@echo; echo "== test summary =="; \
	  printf 'passed %s, failed %s, skipped %s\n' \
	    "$$(grep -cE '^--- PASS' .cache/test.log || true)" \
	    "$$(grep -cE '^\s*--- FAIL' .cache/test.log || true)" \
	    "$$(grep -cE '^\s*--- SKIP' .cache/test.log || true)"

# The benchmarks on the real servers run once each: harvests of
# AVO_BENCH_RECORDS (default 50,000 and 200,000) beside bare PUT+_bulk and
# _bulk loops, with an unchanged re-harvest and two workers, a partner bucket of AVO_BENCH_KEYS
# (default 1,000,000) by manifest beside bare listing and GET loops, bulk indexing of AVO_BENCH_DOCS
# (default 50,000) beside a bare _bulk loop, AVO_BENCH_COLLECTIONS (default
# 10,000) teachers' collections beside bare S3 GETs and _bulk with a
# depublication reaching 1,000 of them, ListRecords in LOM over
# AVO_BENCH_OAI_ITEMS (default 100,000) items page by page, and the search API beside
# Elasticsearch over 100,000 items. Parsing and mapping run as Go
# benchmarks do; the oai_dc step beside xsltproc.
SERVER_BENCH = $(GO) test -run '^$$' -benchtime 1x -timeout 120m
bench: deps tools build xsltproc ## benchmarks: parsing, mapping, harvest, bulk indexing, teachers' collections and search API on the real servers
	@mkdir -p .cache
	$(GO) test -run '^$$' -bench . -benchmem ./internal/oaipmh ./internal/turtle ./mappings 2>&1 | tee .cache/bench.log
	$(BIN)/avo dev run -- sh -c "$(SERVER_BENCH) -bench 'Harvest|S3Manifest' ./workflows/e2e && \
	  $(SERVER_BENCH) -bench Bulk ./internal/esindex && \
	  $(SERVER_BENCH) -bench ContentIndexing ./internal/content && \
	  $(SERVER_BENCH) -bench OAIListRecords ./internal/republish && \
	  $(SERVER_BENCH) -bench SearchAPI ./internal/api" 2>&1 | grep -v 'level=' | tee -a .cache/bench.log

# The layout check: imports run cmd → workflows → activities → mappings →
# internal → schemas, and no tracked file is over 5 MB.
lint: $(WORKFLOWCHECK) ## gofmt check, go vet, workflowcheck, import direction and file sizes
	@mkdir -p .cache
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/workflowcheck ./...
	$(GO) test -count=1 ./internal/layout

fmt: ## format the Go code
	gofmt -w $$(git ls-files '*.go')

clean: ## remove bin/
	rm -rf $(BIN)

distclean: ## also remove .cache/ (downloads, Elasticsearch, server data)
	-$(BIN)/avo dev down
	rm -rf $(BIN) .cache
