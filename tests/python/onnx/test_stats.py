"""layer_stats(): float64 moments, excess kurtosis, sparsity; records, columns and pandas."""

import json
import math

import numpy as np
import pytest
from onnx_model_builders import conv_model

from edgequant.onnx import STAT_COLUMNS, layer_stats, tensor_stats, weights


def test_tensor_stats_known_values():
    stats = tensor_stats(np.array([-1.0, 1.0, -1.0, 1.0, 0.0, 0.0], np.float32))
    assert stats["count"] == 6 and stats["mean"] == 0.0
    assert stats["min"] == -1.0 and stats["max"] == 1.0
    assert math.isclose(stats["std"], math.sqrt(4 / 6))
    # m4 / m2^2 − 3 = (4/6) / (4/6)^2 − 3 = 1.5 − 3
    assert math.isclose(stats["kurtosis"], -1.5)
    assert stats["sparsity"] == pytest.approx(2 / 6)


def test_excess_kurtosis_of_large_samples():
    rng = np.random.default_rng(0)
    assert abs(tensor_stats(rng.standard_normal(400_000))["kurtosis"]) < 0.05
    assert tensor_stats(rng.laplace(size=400_000))["kurtosis"] == pytest.approx(3.0, abs=0.15)
    assert tensor_stats(rng.uniform(size=400_000))["kurtosis"] == pytest.approx(-1.2, abs=0.02)


def test_constant_tensor_has_no_kurtosis_and_negative_zero_is_sparse():
    stats = tensor_stats(np.array([-0.0, 0.0, 0.0], np.float32))
    assert stats["std"] == 0.0 and stats["kurtosis"] is None and stats["sparsity"] == 1.0


def test_non_finite_values_are_counted_apart():
    stats = tensor_stats(np.array([1.0, np.nan, 3.0, np.inf], np.float32))
    assert stats["non_finite"] == 2 and stats["mean"] == 2.0 and stats["max"] == 3.0


def test_table_rows_follow_weights_and_serialise():
    model = conv_model()
    table = layer_stats(model)
    assert len(table) == 2 and [row["name"] for row in table] == [w.name for w in weights(model)]
    assert tuple(table[0]) == STAT_COLUMNS
    assert table[0]["role"] == "conv_weight" and table[0]["shape"] == [3, 2, 1, 1]
    records = json.loads(json.dumps(table.to_records()))
    assert records == table.to_records()
    columns = table.to_dict()
    assert list(columns) == list(STAT_COLUMNS) and columns["count"] == [6, 3]
    assert layer_stats(weights(model)).to_records() == records


def test_to_pandas():
    frame = layer_stats(conv_model()).to_pandas()
    assert list(frame.columns) == list(STAT_COLUMNS) and len(frame) == 2
    assert frame.loc[0, "count"] == 6
