"""A Dask worker plugin that logs every significance evaluation (and can slow or kill its worker).

Each evaluation appends ``"component bits pid"`` to a log file and each runner built appends
``"load pid"``, from whichever worker process does it (appends of one short line are atomic), so
a test can count what was computed where, across worker restarts: the scheduler installs
registered plugins on every worker that joins, restarted ones included.
"""

import os
import signal
import time

from distributed.diagnostics.plugin import WorkerPlugin


def read_log(path) -> list[tuple[str, ...]]:
    """The log's lines, split on spaces (empty if there is no log)."""
    try:
        with open(path) as handle:
            return [tuple(line.split()) for line in handle if line.strip()]
    except FileNotFoundError:
        return []


def evaluations(path) -> list[tuple[str, int]]:
    """``(component, bits)`` of every evaluation logged, in order (the FP32 one is ``("", 0)``)."""
    return [("" if name == "''" else name, int(bits)) for name, bits, _ in read_log(path) if name != "load"]


class CountEvaluations(WorkerPlugin):
    """Wrap the worker's evaluation: sleep ``delay`` s first, log it, and SIGKILL this worker in
    the evaluation that follows ``kill_after`` logged lines (once: ``marker`` holds its pid)."""

    name = "count-evaluations"

    def __init__(self, log, delay: float = 0.0, kill_after: int | None = None, marker=None):
        self.log, self.delay, self.kill_after, self.marker = str(log), delay, kill_after, marker and str(marker)

    def setup(self, worker):
        from edgequant.mixed_precision import significance_worker as module

        evaluate = getattr(module, "_uncounted_evaluate", module._evaluate)
        loaded_class = getattr(module, "_uncounted_loaded", module._Loaded)
        module._uncounted_evaluate, module._uncounted_loaded = evaluate, loaded_class
        plugin = self

        def counted(loaded, component, bits):
            time.sleep(plugin.delay)  # first: the client has collected this worker's previous batch by now
            if plugin.kill_after is not None and len(read_log(plugin.log)) >= plugin.kill_after and plugin._claim():
                os.kill(os.getpid(), signal.SIGKILL)
            means = evaluate(loaded, component, bits)
            plugin._write("''" if component is None else component.name, bits)
            return means

        class CountedLoaded(loaded_class):
            def __init__(self, job):
                super().__init__(job)
                plugin._write("load", 0)

        module._evaluate, module._Loaded = counted, CountedLoaded

    def teardown(self, worker):
        from edgequant.mixed_precision import significance_worker as module

        module._evaluate = getattr(module, "_uncounted_evaluate", module._evaluate)
        module._Loaded = getattr(module, "_uncounted_loaded", module._Loaded)

    def _write(self, name, bits):
        with open(self.log, "a") as handle:
            handle.write(f"{name} {bits} {os.getpid()}\n")

    def _claim(self) -> bool:
        try:
            descriptor = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(descriptor, str(os.getpid()).encode())
        os.close(descriptor)
        return True
