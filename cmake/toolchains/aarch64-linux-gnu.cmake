# Cross build for 64-bit ARM Linux (Raspberry Pi 5 / 4 / 3 on a 64-bit OS) with Debian's
# g++-aarch64-linux-gnu, against the arm64 sysroot that scripts/arm/setup_cross.sh unpacks:
#
#   cmake -S . -B build/arm -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DEDGEQUANT_ARM_SYSROOT=$(scripts/arm/setup_cross.sh | tail -1) -DEDGEQUANT_BUILD_TESTS=ON
#
# Tests run under qemu-user: CTest prefixes each test with the emulator below; the core it emulates
# comes from QEMU_CPU (cortex-a76: the Pi 5, with the dot-product extension; cortex-a53: the Pi 3,
# without; unset: qemu's "max" core).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT EDGEQUANT_ARM_SYSROOT AND DEFINED ENV{EDGEQUANT_ARM_SYSROOT})
  set(EDGEQUANT_ARM_SYSROOT "$ENV{EDGEQUANT_ARM_SYSROOT}")
endif()
if(NOT EDGEQUANT_ARM_SYSROOT)
  set(EDGEQUANT_ARM_SYSROOT "$ENV{HOME}/.cache/edgequant/arm/sysroot")
endif()
if(NOT EXISTS "${EDGEQUANT_ARM_SYSROOT}/usr/include")
  message(FATAL_ERROR "No arm64 sysroot at ${EDGEQUANT_ARM_SYSROOT}: run scripts/arm/setup_cross.sh "
                      "and pass -DEDGEQUANT_ARM_SYSROOT=<the path it prints>.")
endif()
# try_compile projects see the toolchain file again without the cache: hand the sysroot on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EDGEQUANT_ARM_SYSROOT)
set(CMAKE_SYSROOT "${EDGEQUANT_ARM_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${EDGEQUANT_ARM_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # protoc and friends: the host's
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L "${EDGEQUANT_ARM_SYSROOT}")
