"""Mutated model bytes never crash the loader or the analysis: they work or raise ValueError."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx_model_builders import conv_model, qdq_model

from edgequant.onnx import composition, layer_stats, load_model

SEEDS = [
    conv_model().SerializeToString(),
    qdq_model(
        np.arange(-6, 6, dtype=np.int8).reshape(4, 3, 1, 1), np.ones(4, np.float32), axis=0
    ).SerializeToString(),
]


def mutate(data: bytes, edits) -> bytes:
    buffer = bytearray(data)
    for position, value, action in edits:
        if not buffer:
            break
        position %= len(buffer)
        if action == "set":
            buffer[position] = value
        elif action == "delete":
            del buffer[position]
        else:
            buffer.insert(position, value)
    return bytes(buffer)


edit = st.tuples(
    st.integers(0, 10_000), st.integers(0, 255), st.sampled_from(["set", "delete", "insert"])
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(SEEDS))), edits=st.lists(edit, min_size=1, max_size=6),
       cut=st.none() | st.integers(0, 10_000))  # fmt: skip
def test_mutated_bytes_only_raise_value_error(seed, edits, cut):
    data = mutate(SEEDS[seed], edits)
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    try:
        load_model(data)
        layer_stats(data)
        composition(data)
    except ValueError:
        pass
