"""The sweep on a Dask LocalCluster gives the rows of the local process pool."""

import pytest
from sweep_fixtures import SMALL_GRID, comparable

from edgequant import zoo
from edgequant.sweep import run_sweep

distributed = pytest.importorskip("distributed")


def test_dask_local_cluster_matches_the_local_pool(tmp_path, clean_sweep, digits):
    x, y = digits
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = run_sweep(
            zoo.model_path(),
            x,
            y,
            grid=SMALL_GRID,
            db=tmp_path / "dask.sqlite",
            executor=client.get_executor(),
            progress=False,
        )
        workers = {row["worker"] for row in result.table}
    assert comparable(result.table) == comparable(clean_sweep.table)
    assert result.baseline == clean_sweep.baseline
    assert len(workers) >= 1 and result.timings["points_run"] == len(SMALL_GRID)
