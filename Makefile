# Vigil's build. `make run` and `make test` set everything up on a fresh Debian 12 machine (as root)
# and skip what is already there.
SHELL := /bin/bash
GO ?= go
BIN := bin/vigil
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Packages the tests need: real peers (sshd, sftp-server, sudo for the redaction test) and real clients
# (ssh, scp, sftp, sshpass, asciinema, age, tmux, script from bsdutils).
APT_TEST := openssh-server openssh-client openssh-sftp-server sshpass sudo asciinema age tmux bsdutils procps iproute2 curl chromium inetutils-telnetd openbsd-inetd unzip \
	xvfb x11vnc tigervnc-standalone-server x11-apps x11-xserver-utils xterm \
	ffmpeg xrdp xorgxrdp freerdp2-shadow-x11 freerdp2-x11 tigervnc-viewer tigervnc-tools xdotool \
	xclip tesseract-ocr winpr-utils openssl
# Building needs the C libraries of cgo packages: FFmpeg 5.1 with libx264 (encode/video through
# go-astiav), FreeRDP 2.11 (the RDP worker, proxy/rdp) and tesseract 5.3 (index/ocr through gosseract).
APT_RUN := ca-certificates pkg-config gcc libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \
	libavfilter-dev libavdevice-dev libswresample-dev libpostproc-dev freerdp2-dev libtesseract-dev \
	libleptonica-dev tesseract-ocr-eng
# OMP_THREAD_LIMIT=1: tesseract (OCR) reads it when it loads; without it one frame costs several
# times more CPU on two cores (DESIGN.md). -count=1: many tests talk to real programs (sshd, MinIO, asciinema) that the test cache cannot see.
GOTEST_FLAGS ?= -race -count=1 -timeout 20m
FUZZTIME ?= 15s
BENCHTIME ?= 1s

.PHONY: all deps deps-run deps-test build run test test-short bench fuzz vet fmt clean web

all: build

deps: deps-run deps-test

deps-run:
	@command -v $(GO) >/dev/null || { echo "Go is required (see go.mod for the version)"; exit 1; }
	@./scripts/apt-install.sh $(APT_RUN)
	@$(GO) mod download

# MinIO, the S3 test server, is built once from its pinned version (about 4 minutes cold).
deps-test: deps-run
	@./scripts/apt-install.sh $(APT_TEST)
	@./fixtures/minio.sh build

build: deps-run
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vigil

run: build
	./$(BIN) serve $(ARGS)

vet:
	$(GO) vet ./...

test: deps-test vet
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi
	OMP_THREAD_LIMIT=1 $(GO) test $(GOTEST_FLAGS) ./...

test-short: deps-run
	$(GO) test -short ./...

bench: deps-test
	OMP_THREAD_LIMIT=1 $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./... | tee bench.out

# Runs every fuzz target for FUZZTIME each.
fuzz: deps-test
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

# The web UI lives in player/assets/ui; this vendors xterm.js there from the pinned npm package
# (committed, so `go build` needs no Node). Run it after changing web/package.json.
web:
	cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin bench.out
