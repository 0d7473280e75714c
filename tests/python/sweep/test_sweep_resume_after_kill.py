"""A sweep killed with SIGKILL keeps its committed points; rerunning finishes the rest once each."""

import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from sweep_fixtures import SMALL_GRID, comparable

import edgequant
from edgequant import zoo
from edgequant.sweep import run_sweep

# The child imports the edgequant this test imports (the source tree in development, the
# installed package under CI).
PYTHON_DIR = pathlib.Path(edgequant.__file__).resolve().parent.parent

# The child slows its own commits down (only the parent writes SQLite), so that the test can
# kill it for sure between the first committed point and the last.
CHILD = textwrap.dedent(
    """
    import sys, time
    from edgequant import zoo
    from edgequant.sweep import run_sweep, store
    sys.path.insert(0, {fixtures!r})
    from sweep_fixtures import SMALL_GRID

    add = store.ResultStore.add
    def slow_add(self, row):
        add(self, row)
        time.sleep(0.4)
    store.ResultStore.add = slow_add

    if __name__ == "__main__":
        x, y = zoo.load_test_set()
        run_sweep(zoo.model_path(), x, y, grid=SMALL_GRID, db=sys.argv[1], progress=False)
    """
)


def committed(db: pathlib.Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as connection:
            return connection.execute("SELECT count(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def test_sigkill_then_rerun_gives_every_point_once_and_the_clean_results(tmp_path, clean_sweep, digits):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(fixtures=str(pathlib.Path(__file__).parent)))
    db = tmp_path / "killed.sqlite"
    env = {**os.environ, "PYTHONPATH": str(PYTHON_DIR)}
    # Its own session (process group), so the kill reaches the forkserver and the workers too.
    child = subprocess.Popen([sys.executable, str(script), str(db)], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while committed(db) < 2:
            assert child.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no point was committed within 60 s"
            time.sleep(0.02)
        os.killpg(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    survivors = committed(db)
    assert 2 <= survivors < len(SMALL_GRID)

    x, y = digits
    resumed = run_sweep(zoo.model_path(), x, y, grid=SMALL_GRID, db=db, progress=False)
    assert resumed.timings["points_skipped"] == survivors
    assert resumed.timings["points_run"] == len(SMALL_GRID) - survivors
    with sqlite3.connect(db) as connection:
        keys = [k for (k,) in connection.execute("SELECT point_key FROM points")]
    assert len(keys) == len(set(keys)) == len(SMALL_GRID)
    assert comparable(resumed.table) == comparable(clean_sweep.table)
    assert resumed.baseline == clean_sweep.baseline
