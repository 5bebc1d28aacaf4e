# Two commands do everything (each installs what is missing first, and is fast the second time):
#   make run    a local llama-orch on a generated tiny model, with a streamed sample request
#   make test   the whole test suite
# Under the sanitizers (build-asan/, build-tsan/; each first build is long, later ones hit ccache):
#   make test-asan   the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs it)
#   make test-tsan   the integration tests under ThreadSanitizer
# CI (CI=true) builds with warnings as errors.
PRESET ?= $(if $(CI),ci,release)
ASAN_PRESET ?= $(if $(CI),ci-asan,asan)

.PHONY: run test test-asan test-tsan setup build format clean
run: setup
	@scripts/run-local.sh

test: setup
	@scripts/test.sh $(PRESET)

test-asan:
	@scripts/setup.sh $(ASAN_PRESET)
	@scripts/test.sh $(ASAN_PRESET)

test-tsan:
	@scripts/setup.sh tsan
	@scripts/test.sh tsan

setup:
	@scripts/setup.sh $(PRESET)

build:
	@cmake --build --preset $(PRESET)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf build build-debug build-asan build-tsan build-fuzz
