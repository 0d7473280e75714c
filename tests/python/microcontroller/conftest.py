"""Fixtures of the microcontroller tests: the MLPerf Tiny int8 models, exported once per session and
compiled for the host."""

import pytest
from mcu_models import MLPERF_TINY


@pytest.fixture(scope="session")
def tflite_dir(shared_data):
    folder = shared_data / "tflite"
    if not folder.is_dir():
        pytest.skip(f"no MLPerf Tiny models in {folder}")
    return folder


@pytest.fixture(scope="session")
def exported(tflite_dir, tmp_path_factory):
    """name -> (ExportReport, HostModel), built on first use."""
    from edgequant.microcontroller import HostModel, export_c

    cache = {}

    def get(name):
        if name not in cache:
            pytest.importorskip("tflite")
            report = export_c(tflite_dir / MLPERF_TINY[name], tmp_path_factory.mktemp(name))
            cache[name] = (report, HostModel.from_report(report))
        return cache[name]

    return get
