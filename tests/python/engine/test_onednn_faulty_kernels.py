"""oneDNN 3.2 kernels that write outside their buffers are not used.

On CPUs with AMX (Sapphire Rapids and later), oneDNN's INT8 1x1 conv for AMX overruns its NHWC buffers
at 27 and 33 to 48 pixels (a 6x6 map, as MediaPipe's palm detector has), and the heap corruption crashed
the process later; backend/onednn/dnnl_common.h moves such convs to the next kernel. Each shape runs in a
child process (a crash fails the test instead of ending the run) with oneDNN's verbose log, which shows
the kernel that ran; the outputs must equal the reference backend's. Elsewhere (no AMX) the same checks
hold trivially for the kernel and still compare the outputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from edgequant.engine import supported_backends

pytestmark = pytest.mark.skipif("onednn" not in supported_backends(), reason="oneDNN backend not built")

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    from edgequant import Engine

    channels, height, width, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((channels, channels, 1, 1)) * 0.1).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["conv"]), helper.make_node("Add", ["conv", "x"], ["y"])]
    shape = [1, channels, height, width]
    graph = helper.make_graph(nodes, "one_by_one", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(weights, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    x = rng.standard_normal(shape).astype(np.float32)
    kwargs = {"calibration": [x], "progress": False} if mode == "static" else {}
    outputs = {}
    for backend in ("onednn", "reference"):
        engine = Engine(model, mode=mode, backend=backend, threads=1, **kwargs)
        assert {p for _, op, p in engine.plan() if op == "Conv"} == {"int8_" + mode}, engine.plan()
        for _ in range(3):
            outputs[backend] = engine.run({"x": x})[0]
    step = np.abs(outputs["reference"]).max() / 100
    assert np.abs(outputs["onednn"] - outputs["reference"]).max() <= step, "outputs differ"
    print("ran")
    """
)


@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize(("height", "width"), [(6, 6), (1, 27), (4, 9), (6, 8), (7, 7)])
def test_int8_one_by_one_convs_at_the_faulty_sizes(height, width, mode):
    result = subprocess.run([sys.executable, "-c", CHILD, "64", str(height), str(width), mode],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "ONEDNN_VERBOSE": "1"})
    assert result.returncode == 0 and "ran" in result.stdout, (result.returncode, result.stderr[-2000:])
    kernels = {line.split(",")[4] for line in result.stdout.splitlines()
               if line.startswith("onednn_verbose,exec,cpu,convolution")}
    assert kernels, "no oneDNN convolution ran"
    assert "jit_1x1:avx512_core_amx" not in kernels, kernels

