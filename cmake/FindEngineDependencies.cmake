# Finds the engine's dependencies and sets EDGEQUANT_ENGINE_ENABLED.
#   protobuf: Debian 'libprotobuf-dev' and 'protobuf-compiler' (protoc generates the ONNX parser).
#   oneDNN 3.x, only with EDGEQUANT_WITH_ONEDNN (default ON on x86-64, where it is the fast
#     backend; OFF elsewhere: the engine then runs on its portable backends alone):
#     PyPI 'onednn-devel-cpu-iomp' (headers, CMake config) + 'onednn-cpu-iomp' (libdnnl,
#     OpenMP runtime libiomp5) + 'intel-cmplr-lib-rt' (libsvml/libimf/libintlc/libirng that libdnnl
#     needs but the wheel does not declare). They install into <prefix>/include and <prefix>/lib
#     of the Python environment, so the environment's prefix is searched first.
#     (PyPI's plain 'onednn' >= 2025 is a SYCL build that has no CPU engine without a SYCL CPU
#     device, so it cannot be used here.)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(_onednn_default ON)
else()
  set(_onednn_default OFF)
endif()
option(EDGEQUANT_WITH_ONEDNN "The engine's oneDNN backend (x86-64)" ${_onednn_default})
set(EDGEQUANT_ENGINE_ENABLED OFF)
if(EDGEQUANT_WITH_ENGINE STREQUAL "OFF")
  return()
endif()

set(_engine_missing "")
find_package(Protobuf QUIET)
if(NOT Protobuf_FOUND OR NOT Protobuf_PROTOC_EXECUTABLE)
  string(APPEND _engine_missing " protobuf (apt-get install libprotobuf-dev protobuf-compiler)")
endif()
if(EDGEQUANT_WITH_ONEDNN AND NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  string(APPEND _engine_missing " an x86-64 target for the oneDNN backend (or -DEDGEQUANT_WITH_ONEDNN=OFF)")
elseif(EDGEQUANT_WITH_ONEDNN)
  find_package(Python 3.10 QUIET COMPONENTS Interpreter)
  set(_prefixes)
  if(Python_Interpreter_FOUND)
    execute_process(COMMAND "${Python_EXECUTABLE}" -c "import sys; print(sys.prefix)"
                    OUTPUT_VARIABLE _py_prefix OUTPUT_STRIP_TRAILING_WHITESPACE)
    list(APPEND _prefixes "${_py_prefix}")
  endif()
  if(Python_Interpreter_FOUND)
    # pip's isolated build environment installs the wheel's data under its own prefix: ask the
    # installed distribution where its CMake config went.
    execute_process(COMMAND "${Python_EXECUTABLE}" -c
      "import importlib.metadata as m; d = m.distribution('onednn-devel-cpu-iomp'); print([f for f in d.files if str(f).endswith('dnnl-config.cmake')][0].locate().resolve().parent.parent.parent.parent)"
      OUTPUT_VARIABLE _dnnl_prefix OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(_dnnl_prefix)
      list(APPEND _prefixes "${_dnnl_prefix}")
    endif()
  endif()
  if(DEFINED ENV{VIRTUAL_ENV})
    list(APPEND _prefixes "$ENV{VIRTUAL_ENV}")
  endif()
  find_package(dnnl 3 CONFIG QUIET HINTS ${_prefixes} PATH_SUFFIXES lib/cmake/dnnl)
  if(NOT dnnl_FOUND)
    string(APPEND _engine_missing " oneDNN 3.x (pip install onednn-devel-cpu-iomp==2023.2.0 "
                                  "onednn-cpu-iomp==2023.2.0 'intel-cmplr-lib-rt==2023.*'; "
                                  "or -DEDGEQUANT_WITH_ONEDNN=OFF)")
  else()
    get_target_property(_dnnl_lib DNNL::dnnl IMPORTED_LOCATION_RELEASE)
    get_filename_component(EDGEQUANT_DNNL_LIB_DIR "${_dnnl_lib}" DIRECTORY)
    find_library(EDGEQUANT_IOMP5 NAMES iomp5 HINTS "${EDGEQUANT_DNNL_LIB_DIR}" NO_DEFAULT_PATH)
    if(NOT EDGEQUANT_IOMP5)
      string(APPEND _engine_missing " libiomp5 (pip install 'intel-openmp==2023.*')")
    endif()
  endif()
endif()

if(_engine_missing STREQUAL "")
  set(EDGEQUANT_ENGINE_ENABLED ON)
  if(EDGEQUANT_WITH_ONEDNN)
    message(STATUS "edgequant engine: ON (oneDNN ${dnnl_VERSION} from ${EDGEQUANT_DNNL_LIB_DIR}, "
                   "protobuf ${Protobuf_VERSION})")
  else()
    message(STATUS "edgequant engine: ON without oneDNN (reference backend; protobuf ${Protobuf_VERSION})")
  endif()
elseif(EDGEQUANT_WITH_ENGINE STREQUAL "ON")
  message(FATAL_ERROR "EDGEQUANT_WITH_ENGINE=ON but the engine needs:${_engine_missing}")
else()
  message(STATUS "edgequant engine: OFF, missing:${_engine_missing}")
endif()

# libdnnl carries no RUNPATH, so its own dependencies (libiomp5, libsvml, ...) are not found
# through a RUNPATH of ours. DT_RPATH (--disable-new-dtags) is searched for the dependencies of
# everything a target loads: one entry relative to the installed file (the environment's lib/),
# one absolute to the build-time oneDNN (in-place development builds).
# A no-op without oneDNN.
function(edgequant_find_dnnl_at_run_time target relative_lib_dir)
  if(NOT EDGEQUANT_WITH_ONEDNN)
    return()
  endif()
  set_target_properties(${target} PROPERTIES
    BUILD_RPATH "${EDGEQUANT_DNNL_LIB_DIR}"
    INSTALL_RPATH "${relative_lib_dir};${EDGEQUANT_DNNL_LIB_DIR}"
    SKIP_BUILD_RPATH OFF BUILD_WITH_INSTALL_RPATH OFF)
  target_link_options(${target} PRIVATE "LINKER:--disable-new-dtags")
endfunction()
