"""Writes python/edgequant/<module>.pyi for the compiled modules with pybind11-stubgen.

Run after changing a binding: python scripts/generate_stubs.py (tests/python/test_stubs.py fails
while a committed stub differs from a fresh one)."""

import pathlib
import subprocess
import sys
import tempfile

MODULES = ["edgequant._core"]
PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "python" / "edgequant"


def generate(module: str, folder: pathlib.Path) -> str:
    command = [sys.executable, "-m", "pybind11_stubgen", module, "-o", str(folder),
               "--numpy-array-wrap-with-annotated"]
    subprocess.run(command, check=True, capture_output=True)
    return (folder / (module.replace(".", "/") + ".pyi")).read_text()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for module in MODULES:
            text = generate(module, pathlib.Path(tmp))
            target = PACKAGE / (module.split(".")[-1] + ".pyi")
            target.write_text(text)
            print("wrote", target)


if __name__ == "__main__":
    main()
