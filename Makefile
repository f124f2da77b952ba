# Thin wrapper around CMake: installs what is missing, builds, runs, tests.
#   make run    build and start statusd with config/statusd.conf (its defaults:
#               port 8080, memory store, the demo handler); no flags, so the
#               file and STATUSD_<KEY> variables decide
#   make test   build and run every test (starts its own redis-server)
#   make asan   the whole test suite under AddressSanitizer+UBSan
#   make tsan   the whole test suite under ThreadSanitizer
#   make fuzz   every libFuzzer harness of tests/fuzz for FUZZ_TIME seconds
#               each (make fuzz-smoke: 6 s each, for CI)
#   make bench  the benchmark in bench/ (make bench-smoke: a quick check of it)
#   make builds every target with clang, and a gcc Release build (CI)

BUILD     ?= build
BUILD_ASAN ?= build-asan
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
# Tests at once: twice the cores, as most of a test's time is spent
# waiting on the processes and sockets it drives.
TEST_JOBS ?= $(shell echo $$(( $(JOBS) * 2 )))
CMAKE_FLAGS ?=
# Warnings are errors in every build made through this Makefile; a packager
# running cmake directly gets them as warnings.
SD_CMAKE  = -DSTATUSD_WERROR=ON $(CMAKE_FLAGS)

DEPS_BUILD = build-essential cmake pkg-config libmicrohttpd-dev libhiredis-dev \
             libcjson-dev uuid-dev libcurl4-openssl-dev libevent-dev
DEPS_TEST  = libcmocka-dev redis-server nginx lua-check docker-compose curl python3 \
             python3-yaml chromium prometheus
DEPS_BENCH = wrk redis-tools curl
DEPS_BUILDS = clang
DEPS_CONTAINER = debootstrap buildah podman curl
DEPS_FUZZ  = clang libclang-rt-14-dev
BUILD_FUZZ ?= build-fuzz
FUZZ_TIME ?= 120

.PHONY: all deps deps-test deps-bench deps-fuzz build run test asan tsan fuzz fuzz-smoke \
        bench bench-smoke builds clean

all: build

deps:
	@scripts/install-deps $(DEPS_BUILD)

deps-test:
	@scripts/install-deps $(DEPS_BUILD) $(DEPS_TEST)
	@scripts/browser-deps

deps-bench:
	@scripts/install-deps $(DEPS_BUILD) $(DEPS_TEST) $(DEPS_BENCH)

deps-fuzz:
	@scripts/install-deps $(DEPS_BUILD) $(DEPS_FUZZ)

build: deps
	cmake -S . -B $(BUILD) -DBUILD_TESTING=OFF $(SD_CMAKE)
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/statusd

test: deps-test
	cmake -S . -B $(BUILD) -DBUILD_TESTING=ON $(SD_CMAKE)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS)

asan: deps-test
	cmake -S . -B $(BUILD_ASAN) -DBUILD_TESTING=ON -DCMAKE_BUILD_TYPE=AddressSanitizer $(SD_CMAKE)
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(TEST_JOBS)

tsan: deps-test
	cmake -S . -B build-tsan -DBUILD_TESTING=ON -DCMAKE_BUILD_TYPE=ThreadSanitizer $(SD_CMAKE)
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && ctest --output-on-failure -j $(TEST_JOBS)

# The libFuzzer harnesses (clang), each run for FUZZ_TIME seconds from its
# seed corpus in tests/fuzz/corpus; prints the executions of each.
fuzz: deps-fuzz
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Fuzz \
	      -DSD_FUZZ=ON -DBUILD_TESTING=OFF $(SD_CMAKE)
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_targets
	tests/fuzz/run $(BUILD_FUZZ) $(FUZZ_TIME)

fuzz-smoke:
	$(MAKE) fuzz FUZZ_TIME=6

BENCH_TARGETS = statusd hello_mhd loadgen pushload

bench: deps-bench
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(SD_CMAKE)
	cmake --build $(BUILD) -j $(JOBS) --target $(BENCH_TARGETS)
	BUILD=$(BUILD) bench/run

# Every part of the benchmark with tiny counts, in seconds (CI).
bench-smoke: deps-bench
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(SD_CMAKE)
	cmake --build $(BUILD) -j $(JOBS) --target $(BENCH_TARGETS)
	BUILD=$(BUILD) bench/run --smoke

# Everything (statusd, tests, bench tools) built with clang, and statusd
# with its tests built as gcc Release: both must compile without a warning.
builds: deps-test
	@scripts/install-deps $(DEPS_BUILDS)
	CC=clang cmake -S . -B build-clang -DBUILD_TESTING=ON -DCMAKE_BUILD_TYPE=Debug $(SD_CMAKE)
	cmake --build build-clang -j $(JOBS) --target all $(BENCH_TARGETS)
	cmake -S . -B build-release -DBUILD_TESTING=ON -DCMAKE_BUILD_TYPE=Release $(SD_CMAKE)
	cmake --build build-release -j $(JOBS) --target all $(BENCH_TARGETS)

# The Dockerfile built on a debootstrapped bookworm and its statusd run
# in the image (scripts/test-container; needs root).
.PHONY: test-container deps-container
deps-container:
	@scripts/install-deps $(DEPS_CONTAINER)

test-container: deps-container
	scripts/test-container

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-tsan $(BUILD_FUZZ) build-clang build-release
