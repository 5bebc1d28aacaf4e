# Two commands do everything (each installs what is missing first, and is fast the second time):
#   make run    a local llama-orch on a generated tiny model, with a streamed sample request
#   make test   the whole test suite
# CI (CI=true) builds with warnings as errors.
PRESET ?= $(if $(CI),ci,release)

.PHONY: run test setup build format clean
run: setup
	@scripts/run-local.sh

test: setup
	@scripts/test.sh $(PRESET)

setup:
	@scripts/setup.sh $(PRESET)

build:
	@cmake --build --preset $(PRESET)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf build build-debug build-asan build-tsan build-fuzz
