# edgequant: `make demo` and `make test` set everything up on a fresh machine (Debian packages,
# a virtual environment in .venv, the C++ build) and then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SOURCES := $(shell find cpp python -name '*.cpp' -o -name '*.h' -o -name '*.py' -o -name '*.onnx' -o -name '*.npz' -o -name 'CMakeLists.txt') pyproject.toml CMakeLists.txt
OUT ?= out/demo

.PHONY: setup demo test test-cpp test-python test-torch lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: $(SOURCES)
	bash scripts/install_system_deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	mkdir -p build && $(PY) scripts/build_requirements.py > build/build-requirements.txt
	$(PY) -m pip install -q -r build/build-requirements.txt
	$(PY) -m pip install -q --no-build-isolation ".[test]"
	touch $@

demo: setup
	$(VENV)/bin/edgequant demo --out $(OUT)

test: test-cpp lint test-python

test-cpp: setup
	cmake -S . -B build/ctest -G Ninja -DEDGEQUANT_BUILD_TESTS=ON -DPython_EXECUTABLE=$(abspath $(PY)) >/dev/null
	cmake --build build/ctest
	ctest --test-dir build/ctest --output-on-failure -j2

# compression-aware training (edgequant.training): torch is an optional extra, pinned
test-torch: setup
	$(VENV)/bin/pip install -q torch==2.13.0
	EDGEQUANT_REQUIRE_TORCH=1 $(PY) -m pytest tests/python/training -q

lint: setup
	$(VENV)/bin/ruff check python tests benchmarks scripts

test-python: setup
	$(PY) -m pytest

clean:
	rm -rf build $(VENV) out
