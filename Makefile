# reckit: see README.md. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 30s
BIN := bin/reckit
DEMO := demo-recordings

.PHONY: all build test test-crash bench bench-go bench-container bench-catalog bench-vp8 fuzz docs demo lint clean

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

## bench-catalog: reckit verify and ls against cat, sha256sum, mkvmerge,
## ffmpeg and ffprobe (after bench-container, which makes the 1 GiB file)
bench-catalog: build
	RECKIT_BIN=$(BIN) scripts/bench-catalog.sh

## bench-vp8: reckit's VP8 encoder against libvpx at matched PSNR (1080p demo
## scenarios and testsrc2); a Markdown table on stdout
bench-vp8:
	scripts/install-peers
	scripts/bench-vp8.sh

## bench: Go benchmarks, then the container commands against cat, cp,
## mkvmerge and ffmpeg on a 1 GiB WebM, then the VP8 encoder against libvpx
## (the tables and commands are in docs/benchmarks.md)
bench: bench-go bench-container bench-catalog bench-vp8

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-container: reckit info/split/join/repair vs cat, cp, mkvmerge, ffmpeg
## on a >= 1 GiB WebM (BENCH_REPS, RECKIT_BENCH_DIR)
bench-container: build
	RECKIT_BIN=$(BIN) scripts/bench-container.sh

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
## encoder into a recording directory with small parts, then list, inspect and
## verify it (needs only Go)
demo: build
	rm -rf $(DEMO)
	$(BIN) record demo --size 1280x720 --duration 20s --keyframe-interval 2s --max-part-size 256KiB --title "reckit demo" --dir $(DEMO)
	$(BIN) ls $(DEMO)
	$(BIN) info $$(ls $(DEMO)/*/*.webm | head -1)
	$(BIN) verify $(DEMO)
	@echo "demo: the recording directory is $$(ls -d $(DEMO)/*/): its parts and manifest.json"

## lint: gofmt must have nothing to say; go vet must pass
lint:
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [[ -n $$files ]]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...

## clean: remove build and demo output
clean:
	rm -rf bin $(DEMO)
