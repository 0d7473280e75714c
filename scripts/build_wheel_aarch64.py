"""Cross-build a manylinux aarch64 wheel of edgequant (CPython 3.11, Raspberry Pi OS bookworm) on x86-64.

pip cannot cross-compile, so this script does the steps of a wheel build itself:

1. CMake with ``cmake/toolchains/aarch64-linux-gnu.cmake`` against the arm64 sysroot of
   ``scripts/arm/setup_cross.sh`` (Debian's aarch64 g++, the sysroot's CPython 3.11 headers,
   oneDNN off: the engine runs on its ARM backend there), ``cmake --install --strip``;
2. the extension modules come out with the build machine's suffix (FindPython asks the x86
   interpreter), so they are renamed ``*.cpython-311-aarch64-linux-gnu.so``;
3. the libraries that neither the manylinux policy nor a PyPI package provides (libprotobuf and
   its libz, from the sysroot) are copied into ``edgequant.libs/`` and found there through RPATH
   (patchelf) — what ``auditwheel repair`` does, done here because auditwheel resolves libraries
   for the machine it runs on;
4. the GLIBC / GLIBCXX symbol versions every ELF file needs are checked against the newest
   target (glibc 2.36 and GCC 12's libstdc++ of bookworm) and the wheel is tagged with the
   oldest ``manylinux_2_X_aarch64`` policy that covers them; the metadata comes from
   scikit-build-core's hook, as in the x86 wheel.

Usage: ``.venv/bin/python scripts/build_wheel_aarch64.py --sysroot SYSROOT [--out build/wheel-aarch64]``;
prints the wheel's path, size, what it bundles and the newest symbol versions it needs.
Set ``CMAKE_CXX_COMPILER_LAUNCHER=ccache`` to reuse objects.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent

#: The newest target: Raspberry Pi OS bookworm (Debian 12) — glibc 2.36, libstdc++ of GCC 12.
GLIBC_MAX = (2, 36)
GLIBCXX_MAX = (3, 4, 30)
#: manylinux_2_X policies (glibc minor X) and the libstdc++ their reference distributions ship
#: (CentOS 7, AlmaLinux 8, Ubuntu 20.04, AlmaLinux 9, Ubuntu 22.04, Debian 12): the wheel gets the
#: oldest policy whose glibc and libstdc++ both cover what its ELF files need.
MANYLINUX_GLIBCXX = {17: (3, 4, 19), 28: (3, 4, 25), 31: (3, 4, 28), 34: (3, 4, 29), 35: (3, 4, 30), 36: (3, 4, 30)}
PYTHON_TAG = "cp311"
EXTENSION_SUFFIX = ".cpython-311-aarch64-linux-gnu.so"

#: Libraries every manylinux system has (PEP 600 / auditwheel's policy): never bundled.
SYSTEM_LIBRARIES = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "librt.so.1",
        "libpthread.so.0",
        "libutil.so.1",
        "libresolv.so.2",
        "libnsl.so.1",
        "libgcc_s.so.1",
        "libstdc++.so.6",
        "ld-linux-aarch64.so.1",
    }
)

#: Where bundled libraries go in the wheel, and the RPATH that finds them from each kind of file.
LIBS_DIR = "edgequant.libs"
RPATH_FROM_PACKAGE = "$ORIGIN/../" + LIBS_DIR
#: edgequant-run is installed into the environment's bin/; its site-packages is lib/python3.11/.
RPATH_FROM_SCRIPTS = "$ORIGIN/../lib/python3.11/site-packages/" + LIBS_DIR


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sysroot", required=True, help="the arm64 sysroot (scripts/arm/setup_cross.sh prints it)")
    parser.add_argument("--out", default=str(ROOT / "build" / "wheel-aarch64"), help="output folder")
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "arm-wheel"), help="CMake build folder")
    args = parser.parse_args(argv)
    sysroot = pathlib.Path(args.sysroot).resolve()
    if not (sysroot / "usr" / "include" / "python3.11" / "Python.h").exists():
        raise SystemExit(
            f"build_wheel_aarch64: no arm64 CPython 3.11 headers in {sysroot} (run scripts/arm/setup_cross.sh)"
        )
    for tool in ("patchelf", "readelf", "aarch64-linux-gnu-g++"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"build_wheel_aarch64: {tool} not found (apt-get install patchelf binutils; "
                "scripts/arm/setup_cross.sh installs the cross compiler)"
            )
    out = pathlib.Path(args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    staging = out / "staging"
    cmake_build(sysroot, pathlib.Path(args.build_dir).resolve(), staging)
    files = collect(staging)
    bundle_libraries(files, sysroot)
    platform_tag = manylinux_tag(files)
    wheel = write_wheel(files, out, platform_tag)
    describe(wheel)
    return 0


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, check=True, **kwargs)


def cmake_build(sysroot: pathlib.Path, build: pathlib.Path, staging: pathlib.Path) -> None:
    """Configure, build and install (stripped) the extension modules and edgequant-run into ``staging``.

    Release (the project's default build type); the tests option is left as the folder has it, so
    ``make test-arm`` builds the wheel in its own cross-build folder and compiles only the bindings again.
    """
    pybind11_dir = subprocess.run([sys.executable, "-m", "pybind11", "--cmakedir"], check=True,
                                  capture_output=True, text=True).stdout.strip()  # fmt: skip
    run(["cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja",
         f"-DCMAKE_TOOLCHAIN_FILE={ROOT / 'cmake/toolchains/aarch64-linux-gnu.cmake'}",
         f"-DEDGEQUANT_ARM_SYSROOT={sysroot}",
         "-DEDGEQUANT_WITH_ENGINE=ON", "-DEDGEQUANT_WITH_ONEDNN=OFF", "-DEDGEQUANT_BUILD_PYTHON=ON",
         f"-DPython_EXECUTABLE={sys.executable}",
         f"-DPython_INCLUDE_DIR={sysroot / 'usr/include/python3.11'}", f"-Dpybind11_DIR={pybind11_dir}"],
        stdout=subprocess.DEVNULL)  # fmt: skip
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    run(["cmake", "--build", str(build), "-j", jobs])
    run(["cmake", "--install", str(build), "--prefix", str(staging), "--strip"], stdout=subprocess.DEVNULL)


def collect(staging: pathlib.Path) -> dict[str, pathlib.Path]:
    """The wheel's files (archive name -> file on disk): the package's tracked sources and the install tree."""
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "python/edgequant"], check=True,
                             capture_output=True, text=True).stdout.split()  # fmt: skip
    files = {name.removeprefix("python/"): ROOT / name for name in tracked if not name.endswith(".so")}
    for path in sorted((staging / "edgequant").rglob("*")):
        if path.is_file():
            name = path.relative_to(staging).as_posix()
            if name.endswith(".so"):  # _core.cpython-311-x86_64-linux-gnu.so -> ...-aarch64-linux-gnu.so
                name = re.sub(r"\.cpython-[^/]*\.so$", EXTENSION_SUFFIX, name)
            files[name] = path
    version = metadata_dir_name().removesuffix(".dist-info")
    files[f"{version}.data/scripts/edgequant-run"] = staging / "bin" / "edgequant-run"
    extensions = [name for name in files if name.endswith(EXTENSION_SUFFIX)]
    if sorted(extensions) != [f"edgequant/_core{EXTENSION_SUFFIX}", f"edgequant/_engine{EXTENSION_SUFFIX}"]:
        raise SystemExit(f"build_wheel_aarch64: expected _core and _engine, installed {extensions}")
    return files


def is_elf(name: str) -> bool:
    """Whether a wheel member is a program or shared library (by its name)."""
    return name.endswith((".so", "/edgequant-run")) or ".so." in name


def needed(path: pathlib.Path) -> list[str]:
    """The DT_NEEDED entries of an ELF file."""
    dynamic = subprocess.run(["readelf", "-d", "-W", str(path)], check=True, capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)


def find_in_sysroot(soname: str, sysroot: pathlib.Path) -> pathlib.Path:
    for folder in ("usr/lib/aarch64-linux-gnu", "lib/aarch64-linux-gnu", "usr/lib", "lib"):
        candidate = sysroot / folder / soname
        if candidate.exists():
            return candidate.resolve()
    raise SystemExit(f"build_wheel_aarch64: {soname} is not in the sysroot {sysroot}")


def bundle_libraries(files: dict[str, pathlib.Path], sysroot: pathlib.Path) -> None:
    """Copy the non-system libraries the ELF files need (transitively) into LIBS_DIR; set RPATHs."""
    copies = pathlib.Path(tempfile.mkdtemp(prefix="edgequant-libs-"))
    elves = [name for name in files if is_elf(name)]
    pending = [soname for name in elves for soname in needed(files[name])]
    while pending:
        soname = pending.pop()
        name = f"{LIBS_DIR}/{soname}"
        if soname in SYSTEM_LIBRARIES or name in files:
            continue
        copy = copies / soname
        shutil.copyfile(find_in_sysroot(soname, sysroot), copy)
        copy.chmod(0o755)
        run(["patchelf", "--set-rpath", "$ORIGIN", str(copy)])
        files[name] = copy
        pending.extend(needed(copy))
    for name in elves:
        rpath = RPATH_FROM_SCRIPTS if name.endswith("/edgequant-run") else RPATH_FROM_PACKAGE
        run(["patchelf", "--set-rpath", rpath, str(files[name])])


def symbol_versions(path: pathlib.Path) -> set[str]:
    """The versions (GLIBC_2.17, GLIBCXX_3.4.30, ...) an ELF file requires of the libraries it links."""
    text = subprocess.run(["readelf", "-V", "-W", str(path)], check=True, capture_output=True, text=True).stdout
    return set(re.findall(r"Name: ((?:GLIBC|GLIBCXX|CXXABI)_[0-9.]+)", text))


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("_", 1)[1].split("."))


def manylinux_tag(files: dict[str, pathlib.Path]) -> str:
    """The oldest manylinux aarch64 tag that covers the symbol versions the ELF files need.

    Refuses a wheel that needs a newer glibc or libstdc++ than bookworm's; prints the newest versions.
    """
    newest: dict[str, tuple[int, ...]] = {}
    for name, path in files.items():
        if not is_elf(name):
            continue
        for version in symbol_versions(path):
            family = version.split("_", 1)[0]
            newest[family] = max(newest.get(family, ()), version_tuple(version))
            limit = {"GLIBC": GLIBC_MAX, "GLIBCXX": GLIBCXX_MAX}.get(family)
            if limit and version_tuple(version) > limit:
                raise SystemExit(f"build_wheel_aarch64: {name} needs {version}, newer than Debian 12 has")
    print(
        "newest symbol versions needed: "
        + ", ".join(f"{family}_{'.'.join(map(str, version))}" for family, version in sorted(newest.items()))
    )
    glibc, glibcxx = newest.get("GLIBC", (2, 17)), newest.get("GLIBCXX", (3, 4))
    minor = min(x for x, cxx in MANYLINUX_GLIBCXX.items() if x >= glibc[1] and cxx >= glibcxx)
    return f"manylinux_2_{minor}_aarch64"


def metadata_dir_name() -> str:
    return "edgequant-" + project_version() + ".dist-info"


def project_version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def write_wheel(files: dict[str, pathlib.Path], out: pathlib.Path, platform_tag: str) -> pathlib.Path:
    """Zip ``files`` with scikit-build-core's METADATA and entry points, a WHEEL file and RECORD."""
    from scikit_build_core.build import prepare_metadata_for_build_wheel

    metadata_root = pathlib.Path(tempfile.mkdtemp(prefix="edgequant-metadata-"))
    cwd = os.getcwd()
    os.chdir(ROOT)  # the hook reads pyproject.toml from the working directory
    try:
        dist_info = metadata_root / prepare_metadata_for_build_wheel(str(metadata_root))
    finally:
        os.chdir(cwd)
    tag = f"{PYTHON_TAG}-{PYTHON_TAG}-{platform_tag}"
    (dist_info / "WHEEL").write_text(
        f"Wheel-Version: 1.0\nGenerator: edgequant scripts/build_wheel_aarch64.py\nRoot-Is-Purelib: false\nTag: {tag}\n"
    )
    for path in sorted(dist_info.iterdir()):
        files[f"{dist_info.name}/{path.name}"] = path
    record_name = f"{dist_info.name}/RECORD"
    rows = []
    for name, path in sorted(files.items()):
        data = path.read_bytes()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append((name, f"sha256={digest}", str(len(data))))
    rows.append((record_name, "", ""))
    record = io.StringIO()
    csv.writer(record, lineterminator="\n").writerows(rows)
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{dist_info.name.removesuffix('.dist-info')}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        # dist-info last, as wheel tools write it
        for name, path in sorted(files.items(), key=lambda item: (".dist-info/" in item[0], item[0])):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if is_elf(name) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
        info = zipfile.ZipInfo(record_name, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, record.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    return wheel


def describe(wheel: pathlib.Path) -> None:
    """Print the wheel's size and the libraries it carries."""
    with zipfile.ZipFile(wheel) as archive:
        bundled = [(info.filename, info.file_size) for info in archive.infolist() if info.filename.startswith(LIBS_DIR)]
    print(f"wheel: {wheel} ({wheel.stat().st_size / 2**20:.1f} MiB)")
    for name, size in bundled:
        print(f"  bundles {name} ({size / 2**20:.1f} MiB uncompressed)")


if __name__ == "__main__":
    sys.exit(main())
