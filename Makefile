# edgequant: `make demo` and `make test` set everything up on a fresh machine (Debian packages,
# a virtual environment in .venv, the C++ build) and then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SOURCES := $(shell find cpp python -name '*.cpp' -o -name '*.h' -o -name '*.py' -o -name '*.onnx' -o -name '*.npz' -o -name 'CMakeLists.txt') pyproject.toml CMakeLists.txt
SOURCES += $(shell find runtime -name '*.c' -o -name '*.h')
OUT ?= out/demo
# ccache (installed by scripts/install_system_deps.sh) lets the several C++ builds — pip's, CTest's, the sanitizers',
# the wheel's — share objects; CMake reads these variables from the environment.
CCACHE := $(shell command -v ccache 2>/dev/null)
ifneq ($(CCACHE),)
export CMAKE_CXX_COMPILER_LAUNCHER ?= $(CCACHE)
export CMAKE_C_COMPILER_LAUNCHER ?= $(CCACHE)
endif

.PHONY: setup demo test test-cpp test-cpp-no-onednn test-python test-torch test-sanitize test-sanitize-core test-arm lint clean wheel wheel-check wheel-aarch64 docs docs-check

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

# The C++ and Python engine tests of an engine without oneDNN (-DEDGEQUANT_WITH_ONEDNN=OFF): the reference backend
# alone, what a 64-bit ARM build starts from. Own build folder.
test-cpp-no-onednn: setup
	cmake -S . -B build/no-onednn -G Ninja -DEDGEQUANT_BUILD_TESTS=ON -DEDGEQUANT_BUILD_PYTHON=ON \
	  -DEDGEQUANT_WITH_ENGINE=ON -DEDGEQUANT_WITH_ONEDNN=OFF -DPython_EXECUTABLE=$(abspath $(PY)) >/dev/null
	cmake --build build/no-onednn
	ctest --test-dir build/no-onednn --output-on-failure -j2
	# the Python engine tests against that build's extension modules (a copy of the package beside them)
	rm -rf build/no-onednn/python && mkdir -p build/no-onednn/python
	cp -r python/edgequant build/no-onednn/python/ && cp build/no-onednn/_core*.so build/no-onednn/_engine*.so build/no-onednn/python/edgequant/
	PYTHONPATH=build/no-onednn/python $(PY) -c "import edgequant.engine as e; b = e.supported_backends(); assert 'onednn' not in b, b; print('backends:', b)"
	# (the full-size architectures and YOLOv8's head at reference-loop speed would take most of CI's time)
	PYTHONPATH=build/no-onednn/python $(PY) -m pytest tests/python/engine -q -p no:cacheprovider --durations=5 \
	  --deselect tests/python/engine/test_architectures.py --deselect tests/python/engine/test_yolov8_exported_head.py

# compression-aware training (edgequant.training) and mixed-precision QAT / Hessian traces
# (edgequant.mixed_precision) with the notebooks that need them: torch is an optional extra, pinned
test-torch: setup
	$(VENV)/bin/pip install -q torch==2.13.0
	EDGEQUANT_REQUIRE_TORCH=1 $(PY) -m pytest tests/python/training tests/python/mixed_precision -q
	EDGEQUANT_REQUIRE_TORCH=1 $(PY) -m pytest tests/python/notebooks -q -m torch

# The core's C++ tests (the coder's mutation fuzzer included) under ASan + UBSan, in their own build
# folder without the engine; any sanitizer report fails. EDGEQUANT_FUZZ_MUTANTS=N for a longer fuzz.
test-sanitize-core: setup
	cmake -S . -B build/sanitize-core -G Ninja -DEDGEQUANT_BUILD_TESTS=ON -DEDGEQUANT_SANITIZE=ON -DEDGEQUANT_WITH_ENGINE=OFF >/dev/null
	cmake --build build/sanitize-core
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build/sanitize-core/tests/cpp/edgequant_tests

# The engine's fuzzers and malformed-model tests under ASan + UBSan, bounded (CI: .ci/run).
FUZZ_MUTANTS ?= 3000
test-sanitize: setup
	cmake -S . -B build/sanitize -G Ninja -DEDGEQUANT_BUILD_TESTS=ON -DEDGEQUANT_SANITIZE=ON -DPython_EXECUTABLE=$(abspath $(PY)) >/dev/null
	cmake --build build/sanitize --target edgequant_engine_fuzz
	EDGEQUANT_FUZZ_MUTANTS=$(FUZZ_MUTANTS) UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ASAN_OPTIONS=detect_leaks=0 timeout 300 build/sanitize/tests/cpp/edgequant_engine_fuzz

# export-c's differential fuzzers at length, every accepted export built with ASan + UBSan: forged and mutated .tflite
# models compared with TFLite Micro (test_export_fuzz.py; the plain test run does 160), random ONNX graphs with mutated
# attributes compared with the engine's static INT8 / ONNX Runtime (test_onnx_export_fuzz.py; the plain run does 100).
# EXPORT_FUZZ_SEED picks another set of models.
EXPORT_FUZZ_CASES ?= 2000
ONNX_EXPORT_FUZZ_CASES ?= 400
EXPORT_FUZZ_SEED ?= 2026
.PHONY: test-export-fuzz
test-export-fuzz: setup
	EDGEQUANT_EXPORT_FUZZ_CASES=$(EXPORT_FUZZ_CASES) EDGEQUANT_EXPORT_FUZZ_SEED=$(EXPORT_FUZZ_SEED) \
	  $(PY) -m pytest tests/python/microcontroller/test_export_fuzz.py -q -s -p no:cacheprovider
	EDGEQUANT_ONNX_FUZZ_CASES=$(ONNX_EXPORT_FUZZ_CASES) EDGEQUANT_ONNX_FUZZ_SEED=$(EXPORT_FUZZ_SEED) \
	  $(PY) -m pytest tests/python/microcontroller/test_onnx_export_fuzz.py -q -s -p no:cacheprovider

# 64-bit ARM (Raspberry Pi 5): the C++ tests cross-built with Debian's aarch64 g++ against an arm64 sysroot
# (scripts/arm/setup_cross.sh installs both, and qemu-user) and run under qemu-user twice: as the Pi 5's Cortex-A76
# (dot product: the ARM backend's SDOT kernels) and as the Pi 3's Cortex-A53 (its plain NEON kernels). oneDNN off.
# Then the cross-built aarch64 wheel (make wheel-aarch64) installed for and run by Debian's arm64 CPython 3.11 under
# qemu on both cores: import, demo, tests/python/arm against ONNX Runtime aarch64 (scripts/arm/check_wheel_emulated.sh).
ARM_BUILD := build/arm
test-arm: setup
	mkdir -p build && bash scripts/arm/setup_cross.sh > build/arm-sysroot.txt
	cmake -S . -B $(ARM_BUILD) -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
	  -DEDGEQUANT_ARM_SYSROOT=$$(tail -1 build/arm-sysroot.txt) -DEDGEQUANT_BUILD_TESTS=ON \
	  -DEDGEQUANT_WITH_ENGINE=ON -DEDGEQUANT_WITH_ONEDNN=OFF >/dev/null
	cmake --build $(ARM_BUILD)
	QEMU_CPU=cortex-a76 EDGEQUANT_EXPECT_DOTPROD=1 EDGEQUANT_EXPECT_I8MM=0 ctest --test-dir $(ARM_BUILD) --output-on-failure -j2
	QEMU_CPU=cortex-a53 EDGEQUANT_EXPECT_DOTPROD=0 EDGEQUANT_EXPECT_I8MM=0 ctest --test-dir $(ARM_BUILD) --output-on-failure -j2
	# qemu's "max" core has the int8 matrix multiply (SMMLA): the ARM kernels' tests on that path too
	QEMU_CPU=max EDGEQUANT_EXPECT_DOTPROD=1 EDGEQUANT_EXPECT_I8MM=1 ctest --test-dir $(ARM_BUILD) -R '^Arm' --output-on-failure -j2
	PY=$(abspath $(PY)) WHEEL_BUILD_DIR=$(ARM_BUILD) bash scripts/arm/check_wheel_emulated.sh

lint: setup
	$(VENV)/bin/ruff check python tests benchmarks scripts examples

test-python: setup
	$(PY) -m pytest

# A manylinux wheel (build/wheel/dist): python -m build + auditwheel repair (scripts/build_wheel.py).
wheel: setup
	$(PY) -m pip install -q build 'auditwheel==6.6.*'
	$(PY) scripts/build_wheel.py

# A manylinux aarch64 wheel for CPython 3.11 (Raspberry Pi OS bookworm), cross-built on x86-64 with the sysroot
# of scripts/arm/setup_cross.sh (scripts/build_wheel_aarch64.py): build/wheel-aarch64/*.whl.
wheel-aarch64: setup
	mkdir -p build && bash scripts/arm/setup_cross.sh > build/arm-sysroot.txt
	$(PY) scripts/build_wheel_aarch64.py --sysroot $$(tail -1 build/arm-sysroot.txt)

# CI: the wheel in a fresh environment with no compiler on PATH: import, demo, a few tests.
wheel-check: setup
	$(PY) -m pip install -q build 'auditwheel==6.6.*'
	bash scripts/check_wheel.sh

# The documentation site (docs/, Sphinx): API reference from the docstrings, the CLI from its argparse parsers,
# the notebooks executed. Strict: any warning fails (a broken cross-reference, an exported name without a
# docstring, a parameter missing from or unknown to a docstring). The `docs` extra's packages and torch (the
# training modules import it) go into .venv; the package itself is the installed one. Output: docs/_build/html.
DOCS_HTML := docs/_build/html
docs: setup
	mkdir -p build && $(PY) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['docs'], sep=chr(10))" > build/docs-requirements.txt
	$(VENV)/bin/pip install -q -r build/docs-requirements.txt
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m sphinx -b html -W --keep-going -n -q -j 2 -d docs/_build/doctrees docs $(DOCS_HTML)

# CI: the site builds without a warning, its internal links resolve, and headless Chromium shows the home page,
# an API page and a tutorial rendered (screenshots in build/docs-screenshots).
docs-check: docs
	bash scripts/install_system_deps.sh chromium   # headless, for the screenshots
	EDGEQUANT_REQUIRE_DOCS=1 $(PY) -m pytest tests/python/docs -q -p no:cacheprovider

clean:
	rm -rf build $(VENV) out docs/_build
