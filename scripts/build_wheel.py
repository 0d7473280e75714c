"""Build a manylinux wheel of edgequant that installs without a compiler.

1. ``python -m build --wheel --no-isolation`` (the build requirements of pyproject.toml must be
   installed, as ``make setup`` does; the build folder of ``make setup`` is reused, so an
   unchanged tree only relinks);
2. ``auditwheel repair`` (PyPI's auditwheel, Debian's patchelf) copies into ``edgequant.libs/``
   the libraries no PyPI package provides (libprotobuf, from Debian) and tags the wheel with the
   oldest manylinux policy its symbols allow. oneDNN (libdnnl), the Intel OpenMP runtime
   (libiomp5) and the Intel runtime libdnnl needs (libsvml, libimf, libintlc, libirng) are not
   copied: the wheel declares them (``onednn-cpu-iomp``, ``intel-cmplr-lib-rt``), pip installs
   them into the environment's ``lib/``;
3. auditwheel keeps only RPATH entries inside the wheel, so ``$ORIGIN/../../..`` (the
   environment's ``lib/`` seen from ``site-packages/edgequant``) is appended again to the
   extension and to ``edgequant-run`` (patchelf), and the wheel's RECORD is rewritten.

Usage: ``.venv/bin/python scripts/build_wheel.py [--out build/wheel]``; prints the wheel's
path, size and what it bundles. Set ``CMAKE_CXX_COMPILER_LAUNCHER=ccache`` to reuse objects.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent

#: Libraries the wheel declares as dependencies instead of bundling (sonames, auditwheel globs).
DECLARED_LIBRARIES = ("libdnnl.so.*", "libiomp5.so", "libsvml.so", "libimf.so", "libintlc.so.*", "libirng.so")

#: Where the declared libraries are at run time, relative to files in site-packages/edgequant
#: and site-packages/edgequant.scripts: the environment's lib/, where their wheels put them.
ENVIRONMENT_LIB_RPATH = "$ORIGIN/../../.."

#: Files whose RPATH gets ENVIRONMENT_LIB_RPATH back (they load libdnnl).
NEEDS_ENVIRONMENT_LIB = ("edgequant/_engine", "edgequant.scripts/edgequant-run")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "wheel"), help="output folder (default build/wheel)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out).resolve()
    for tool in ("patchelf", "auditwheel"):
        if shutil.which(tool) is None and not (pathlib.Path(sys.executable).parent / tool).exists():
            hint = "apt-get install patchelf; pip install 'auditwheel==6.6.*'"
            raise SystemExit(f"build_wheel: {tool} not found ({hint})")
    raw, repaired = out / "raw", out / "dist"
    for folder in (raw, repaired):
        shutil.rmtree(folder, ignore_errors=True)
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(raw), str(ROOT)])
    (raw_wheel,) = raw.glob("*.whl")
    excludes = [arg for name in DECLARED_LIBRARIES for arg in ("--exclude", name)]
    auditwheel = shutil.which("auditwheel") or str(pathlib.Path(sys.executable).parent / "auditwheel")
    run([auditwheel, "repair", *excludes, "-w", str(repaired), str(raw_wheel)])
    (wheel,) = repaired.glob("*.whl")
    add_environment_rpath(wheel)
    describe(wheel)
    return 0


def run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def add_environment_rpath(wheel: pathlib.Path) -> None:
    """Append :data:`ENVIRONMENT_LIB_RPATH` to the RPATH of the files that load libdnnl; rewrite RECORD."""
    with tempfile.TemporaryDirectory() as temporary:
        folder = pathlib.Path(temporary)
        with zipfile.ZipFile(wheel) as archive:
            names = [name for name in archive.namelist() if not name.endswith("/")]  # files only
            archive.extractall(folder)
            modes = {info.filename: info.external_attr for info in archive.infolist()}
        patched = [n for n in names if n.startswith(NEEDS_ENVIRONMENT_LIB) and not n.endswith(".pyi")]
        if not patched:
            raise SystemExit(f"build_wheel: none of {NEEDS_ENVIRONMENT_LIB} in {wheel.name}")
        for name in patched:
            current = subprocess.run(["patchelf", "--print-rpath", str(folder / name)], check=True,
                                     capture_output=True, text=True).stdout.strip()  # fmt: skip
            rpath = ":".join(entry for entry in (current, ENVIRONMENT_LIB_RPATH) if entry)
            subprocess.run(["patchelf", "--force-rpath", "--set-rpath", rpath, str(folder / name)], check=True)
            print(f"{name}: RPATH {rpath}")
        record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
        rows = []
        for name in names:
            if name == record_name:
                continue
            data = (folder / name).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append((name, f"sha256={digest}", str(len(data))))
        rows.append((record_name, "", ""))
        record = io.StringIO()
        csv.writer(record, lineterminator="\n").writerows(rows)
        (folder / record_name).write_text(record.getvalue())
        rebuilt = wheel.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = modes[name]
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, (folder / name).read_bytes())
        rebuilt.replace(wheel)


def describe(wheel: pathlib.Path) -> None:
    """Print the wheel's size, the libraries it carries and the dependencies it declares."""
    with zipfile.ZipFile(wheel) as archive:
        bundled = [(info.filename, info.file_size) for info in archive.infolist() if ".libs/" in info.filename]
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [line.split(":", 1)[1].strip() for line in archive.read(metadata).decode().splitlines()
                    if line.startswith("Requires-Dist:") and "extra ==" not in line]  # fmt: skip
    print(f"wheel: {wheel} ({wheel.stat().st_size / 2**20:.1f} MiB)")
    for name, size in bundled:
        print(f"  bundles {name} ({size / 2**20:.1f} MiB uncompressed)")
    print("  declares " + "; ".join(requires))


if __name__ == "__main__":
    sys.exit(main())
