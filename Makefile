# reckit: see README.md. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 30s
BIN := bin/reckit
DEMO := demo-recordings

.PHONY: all build test test-crash bench bench-vp8 fuzz docs demo lint clean

all: build

## build: the static binary bin/reckit
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/reckit

## test: install the real peers (ffmpeg, mkvtoolnix, ...) and run every test with the race detector
test:
	scripts/install-peers
	$(GO) test -race ./...
	$(GO) vet -tags libvpx ./cmd/reckit ./record/libvpx/ ./record/vp8bench/...
	$(GO) test -race -tags libvpx ./record/libvpx/ ./record/vp8bench/...

## test-crash: kill a running recorder with SIGKILL at 50 random moments and
## check every manifest parses and every part is ok or repairable
test-crash:
	RECKIT_CRASH_TRIALS=$${RECKIT_CRASH_TRIALS:-50} $(GO) test -run '^TestCrashTrials$$' -count=1 -v ./record/ | grep -E '^(---|ok|FAIL)|trial'

## bench-vp8: reckit's VP8 encoder against libvpx at matched PSNR (1080p demo
## scenarios and testsrc2); a Markdown table on stdout
bench-vp8:
	scripts/install-peers
	scripts/bench-vp8.sh

## bench: every benchmark (scripts/bench-*.sh will join later)
bench:
	$(GO) test -run '^$$' -bench . ./...

## fuzz: every Fuzz target of every package for FUZZTIME each (default 30s)
fuzz:
	@set -euo pipefail; \
	for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' "$$pkg" | grep '^Fuzz' || true); do \
			echo "fuzz: $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

## docs: regenerate the man pages in docs/man
docs:
	$(GO) run ./cmd/reckit __gendocs docs/man

## demo: build reckit, record 20 s of the built-in demo desktop with the pure-Go
## encoder, split it into parts, and inspect them (needs only Go)
demo: build
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(BIN) record demo --size 1280x720 --duration 20s --keyframe-interval 2s --title "reckit demo" -o $(DEMO)/demo.webm
	$(BIN) info $(DEMO)/demo.webm
	$(BIN) split --size 2MiB -o $(DEMO) $(DEMO)/demo.webm
	$(BIN) info --json $(DEMO)/demo-*.webm | grep -o '"path":"[^"]*","bytes":[0-9]*,"verdict":"[a-z-]*"'
	@echo "demo: the recording and its parts are in $(DEMO)/"

## lint: gofmt must have nothing to say; go vet must pass
lint:
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [[ -n $$files ]]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...

## clean: remove build and demo output
clean:
	rm -rf bin $(DEMO)
