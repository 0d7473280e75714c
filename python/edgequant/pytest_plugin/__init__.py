"""The edgequant pytest plugin: fixtures for quantization experiments written as tests.

Registered under the ``pytest11`` entry point, so it is active wherever edgequant is installed
(``pytest -p no:edgequant`` turns it off). It adds:

- ``eq_model(name_or_path, **options)`` — path of an embedded model (``"digits_cnn"``), a shared
  model (``"mnist-8"``), a built architecture (``"resnet18", width=0.25``) or your file;
- ``eq_data(name_or_path, limit=None, **options)`` — ``(x, y)`` of ``"digits"``, ``"mnist"``,
  ``"cifar10"``, ``"imagenet-sample"``, ``"coco128"``, a shared model's data (``"mnist-8.onnx"``),
  an ``.npz`` or a folder of images; read-only arrays, cached for the session;
- ``eq_record(**metrics)`` — records the running test's metrics (``top1=..., entropy=...``) in
  the sweeps' SQLite store; ``eq_record.baseline(top1=...)`` records the reference;
- options ``--eq-db FILE`` (the store; default a temporary file, or ``DIR/results.sqlite`` with
  ``--eq-report``), ``--eq-report DIR`` (Markdown report with the rate-distortion plots) and
  ``--eq-budget-pp`` (budget of the best-within-budget tables, default 1).

Shared models and data sets skip the test, with the reason, when the shared data folder
(``$EDGEQUANT_DATA``, default ``../shared/data``) is absent. Parametrize over quantizers with
:func:`edgequant.testing.eq_quantizers`; assert with
:func:`edgequant.testing.assert_accuracy_not_worse` and :func:`edgequant.testing.assert_fidelity`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .recording import Recording, metric_values, point_of, terminal_lines, write_report
from .sources import DataSet, SharedDataMissing, load_data, resolve_model

_RECORDING = pytest.StashKey[Recording]()


def pytest_addoption(parser):
    group = parser.getgroup("edgequant", "edgequant experiment suites")
    group.addoption("--eq-db", metavar="FILE", default=None,
                    help="SQLite file eq_record writes to (the sweeps' format; default: temporary)")
    group.addoption("--eq-report", metavar="DIR", default=None,
                    help="write DIR/report.md with tables and rate-distortion plots of what eq_record recorded")
    group.addoption("--eq-budget-pp", metavar="PP", type=float, default=1.0,
                    help="allowed loss in percentage points for the best-within-budget tables (default 1)")  # fmt: skip


def pytest_configure(config):
    db = config.getoption("--eq-db", None)
    report = config.getoption("--eq-report", None)
    if db is not None and not Path(db).expanduser().parent.is_dir():
        raise pytest.UsageError(f"--eq-db {db}: folder {str(Path(db).expanduser().parent)!r} does not exist")
    budget = config.getoption("--eq-budget-pp", 1.0)
    if not budget >= 0:
        raise pytest.UsageError(f"--eq-budget-pp must be >= 0, got {budget}")
    in_report = db is None and report is not None
    db = Path(report) / "results.sqlite" if in_report else db
    config.stash[_RECORDING] = Recording(None if db is None else Path(db).expanduser(), budget, in_report)


def pytest_unconfigure(config):
    recording = config.stash.get(_RECORDING, None)
    if recording is not None:
        recording.close()


@pytest.hookimpl(hookwrapper=True)  # the old-style wrapper: pytest 7 has no wrapper=True
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if report.when == "call" or report.outcome != "passed":
        sweep_id, case = _test_identity(item)
        recording = item.config.stash[_RECORDING]
        if sweep_id in recording.rows:
            recording.set_outcome(sweep_id, case, report.outcome)


def pytest_sessionfinish(session):
    recording = session.config.stash[_RECORDING]
    folder = session.config.getoption("--eq-report", None)
    if folder is not None and recording.rows:
        write_report(recording, Path(folder))  # the store (DIR/results.sqlite by default) is already there


def pytest_terminal_summary(terminalreporter, config):
    recording = config.stash[_RECORDING]
    if not recording.rows:
        return
    terminalreporter.section("edgequant experiments")
    for line in terminal_lines(recording):
        terminalreporter.write_line(line)
    where = config.getoption("--eq-db", None) or config.getoption("--eq-report", None)
    if where is not None:
        terminalreporter.write_line(f"results: {recording.db}")
    folder = config.getoption("--eq-report", None)
    if folder is not None:
        terminalreporter.write_line(f"report: {Path(folder) / 'report.md'}")


def _cached_or_skip(cache: dict, key, load):
    """``cache[key]``, loaded once; a missing shared folder is cached too and skips every test asking for it."""
    if key not in cache:
        try:
            cache[key] = load()
        except SharedDataMissing as missing:
            cache[key] = missing
    if isinstance(cache[key], SharedDataMissing):
        pytest.skip(str(cache[key]))
    return cache[key]


@pytest.fixture(scope="session")
def eq_model(tmp_path_factory):
    """Factory: ``eq_model(name_or_path, **options)`` -> path of an ONNX model (cached per session).

    Names: embedded (``"digits_cnn"``, ``"digits_cnn_small"``, ``"digits_mlp"``), shared
    (``"mnist-8"``, ``"squeezenet1.0_fp16.onnx"`` ...: skipped when the shared folder is absent),
    architectures (``"resnet18"``, ``"mobilenet_v2"`` ... with ``input_size``, ``width``,
    ``num_classes``, ``seed``), or a path to your own file.
    """
    cache: dict = {}
    build_dir = tmp_path_factory.mktemp("eq_models")

    def get(name, **options) -> Path:
        key = (str(name), tuple(sorted((k, repr(v)) for k, v in options.items())))
        return _cached_or_skip(cache, key, lambda: resolve_model(name, build_dir, **options))

    return get


@pytest.fixture(scope="session")
def eq_data():
    """Factory: ``eq_data(name_or_path, limit=None, **options)`` -> ``(x, y)`` (cached per session).

    ``"digits"`` (embedded), ``"mnist"``, ``"cifar10"`` (``normalize=True``: the tutorial CNN's
    input), ``"imagenet-sample"`` (SqueezeNet's input), ``"coco128"`` (``detector=``), a shared
    model's data (``"mnist-8.onnx"``), an ``.npz`` or a folder of images. Arrays are read-only;
    ``y`` is None without labels. Shared data sets skip the test when their folder is absent.
    """
    cache: dict = {}

    def load(name, limit, options) -> DataSet:
        data = load_data(name, limit, **options)
        for array in data:
            if array is not None:
                array.flags.writeable = False
        return data

    def get(name, limit: int | None = None, **options) -> DataSet:
        key = (str(name), limit, tuple(sorted((k, repr(v)) for k, v in options.items())))
        return _cached_or_skip(cache, key, lambda: load(name, limit, options))

    return get


class Recorder:
    """What the ``eq_record`` fixture gives a test: call it with metrics, or ``.baseline(...)``."""

    def __init__(self, recording: Recording, item):
        self._recording = recording
        self._sweep_id, self._case = _test_identity(item)
        self._label = getattr(item, "originalname", item.name)
        params = getattr(getattr(item, "callspec", None), "params", {})
        self._quantizer = next((value for value in params.values() if callable(getattr(value, "spec", None))), None)

    def __call__(self, quantizer=None, **metrics) -> dict:
        """Record ``metrics`` (numbers) for this test case; repeated calls add to the same row.

        ``entropy`` (bits/weight), ``compression_ratio``, ``space_saving``, ``weight_sqnr_db`` and
        ``weight_count`` fill the store's columns, any other name goes to its ``metrics``. The
        quantizer (default: the one among the test's parameters) names the point and its curve.
        """
        point = point_of(quantizer if quantizer is not None else self._quantizer, self._case, self._label)
        return self._recording.record(self._sweep_id, point, metric_values(metrics))

    def baseline(self, **metrics) -> None:
        """Record the reference (e.g. FP32) metrics of this test function, for budgets and plots."""
        self._recording.set_baseline(self._sweep_id, metric_values(metrics))


@pytest.fixture
def eq_record(request) -> Recorder:
    """``eq_record(top1=..., entropy=...)`` records the running test's metrics (see ``--eq-db``,
    ``--eq-report``); ``eq_record.baseline(top1=...)`` the reference's."""
    return Recorder(request.config.stash[_RECORDING], request.node)


def _test_identity(item) -> tuple[str, str]:
    """(sweep id, case id): one sweep per test function, one case per parametrization."""
    function_id = item.nodeid.split("[", 1)[0]
    callspec = getattr(item, "callspec", None)
    return f"pytest:{function_id}", callspec.id if callspec is not None else ""
