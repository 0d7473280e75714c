"""Output fidelity of a compressed model (issue 22: `compress` damaged real models silently): ONNX
Runtime runs the original and the restored model on the same inputs; `edgequant compress` prints
each output's cosine and max abs error and warns below --min-cosine."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgequant.cli import main
from edgequant.compress import compress_model, decompress_model
from edgequant.compress.fidelity import SYMBOLIC_DIM, compressed_model_fidelity, output_fidelity
from edgequant.quantizers import Deadzone
from edgequant.zoo import load_test_set, model_path

README_SETTINGS = ["--method", "deadzone", "--delta", "0.7", "--levels", "512", "--xmax", "max"]
DAMAGING = ["--method", "deadzone", "--delta", "0.7", "--levels", "4", "--xmax", "max"]


def _graph_model(nodes, inputs, outputs) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    path = tmp_path_factory.mktemp("fidelity") / "damaged.eqz"
    compress_model(model_path(), Deadzone(levels=4, delta=0.7, xmax="max"), path)
    return path


def test_a_model_against_itself_is_exact():
    report = output_fidelity(model_path(), onnx.load(model_path()))
    assert report.error is None and report.samples == 4
    [logits] = report.outputs
    assert logits.name == "logits" and logits.cosine == pytest.approx(1.0) and logits.max_abs_error == 0.0
    assert report.problems(0.99) == []


def test_the_readme_settings_keep_the_digits_model_and_coarse_ones_damage_it(tmp_path, damaged):
    kept = tmp_path / "kept.eqz"
    compress_model(model_path(), Deadzone(levels=512, delta=0.7, xmax="max"), kept)
    good = compressed_model_fidelity(model_path(), kept)
    assert good.worst.cosine > 0.9999 and good.problems(0.99) == []
    bad = compressed_model_fidelity(model_path(), damaged)
    assert bad.worst.cosine < 0.9 and bad.worst.max_abs_error > 1.0
    [problem] = bad.problems(0.99)
    assert "'logits'" in problem and "below 0.99" in problem


def test_real_inputs_are_used_sample_by_sample(damaged):
    x, _ = load_test_set()
    restored = decompress_model(damaged)
    given = output_fidelity(model_path(), restored, x, samples=8, inputs_description="the digits test set")
    assert given.samples == 8 and given.inputs == "the digits test set"
    assert given.worst.cosine != output_fidelity(model_path(), restored).worst.cosine  # not synthetic
    assert output_fidelity(model_path(), restored, {"input": x[:2]}, samples=8).samples == 2
    with pytest.raises(ValueError, match="not inputs of the model"):
        output_fidelity(model_path(), restored, {"image": x})


def test_synthetic_inputs_give_symbolic_dims_one_on_the_batch_axis_and_a_default_elsewhere():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "height"])
    shape = helper.make_tensor_value_info("shape", TensorProto.INT64, [3])
    model = _graph_model([helper.make_node("Shape", ["x"], ["shape"])], [x], [shape])
    report = output_fidelity(model, model)
    assert report.outputs[0].max_abs_value == SYMBOLIC_DIM  # the shape is (1, 3, SYMBOLIC_DIM)
    assert report.inputs.startswith("synthetic") and "seed 0" in report.inputs


def test_a_model_that_cannot_run_on_synthetic_inputs_is_reported_not_raised():
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, "k"])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["j", 5])  # j is 1, k is 64: no product
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])
    model = _graph_model([helper.make_node("MatMul", ["a", "b"], ["y"])], [a, b], [y])
    report = output_fidelity(model, model)
    assert report.outputs == [] and "cannot run" in report.error
    assert report.worst is None
    [problem] = report.problems(0.99)
    assert "not measured" in problem and "pass real sample inputs" in problem


def test_non_finite_outputs_count_as_damaged():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    identity = _graph_model([helper.make_node("Identity", ["x"], ["y"])], [x], [y])
    log = _graph_model([helper.make_node("Log", ["x"], ["t"]), helper.make_node("Log", ["t"], ["y"])], [x], [y])
    report = output_fidelity(identity, log)  # log(log(u)) of u in [0, 1): NaN
    assert np.isnan(report.worst.cosine) and len(report.problems(-1.0)) == 1


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_compress_reports_fidelity_and_warns_only_below_the_threshold(tmp_path, capsys):
    code, out, err = run(capsys, "compress", model_path(), *README_SETTINGS, "-o", tmp_path / "ok.eqz")
    assert code == 0 and err == ""
    assert "output fidelity, ONNX Runtime, original vs restored (4 samples, synthetic" in out
    assert "logits" in out and "cosine 0.99" in out
    code, out, err = run(capsys, "compress", model_path(), *DAMAGING, "-o", tmp_path / "bad.eqz")
    assert code == 0 and (tmp_path / "bad.eqz").is_file()
    [line] = err.splitlines()
    assert line.startswith("edgequant compress: warning: output 'logits' has cosine 0.")
    code, out, err = run(capsys, "compress", model_path(), *DAMAGING, "--min-cosine", "0.5", "-o",
                         tmp_path / "bad.eqz")
    assert code == 0 and err == ""


def test_compress_data_and_threshold_options(tmp_path, capsys):
    x, _ = load_test_set()
    np.save(tmp_path / "x.npy", x[:10])
    code, out, err = run(capsys, "compress", model_path(), *README_SETTINGS, "--data", tmp_path / "x.npy",
                         "-o", tmp_path / "m.eqz")
    assert code == 0 and f"(4 samples, --data {tmp_path / 'x.npy'})" in out
    code, out, err = run(capsys, "compress", model_path(), *README_SETTINGS, "--data", tmp_path / "none.npy",
                         "-o", tmp_path / "n.eqz")
    assert code == 1 and "none.npy" in err and not (tmp_path / "n.eqz").exists()  # refused before compressing
    for bad in ("1.5", "nan", "-2"):
        code, _, err = run(capsys, "compress", model_path(), *README_SETTINGS, "--min-cosine", bad, "-o",
                           tmp_path / "t.eqz")
        assert code == 2 and "--min-cosine" in err


def test_the_general_purpose_comparison_is_asked_for(tmp_path, capsys):
    code, out, _ = run(capsys, "compress", model_path(), *README_SETTINGS, "-o", tmp_path / "m.eqz")
    assert code == 0 and "xz -9e" not in out and "zstd" not in out and "m.eqz (.eqz)" in out
    code, out, _ = run(capsys, "compress", model_path(), *README_SETTINGS, "--compare-general-purpose",
                       "-o", tmp_path / "m.eqz")
    assert code == 0 and "xz -9e of the ONNX" in out


def test_a_real_model_damaged_by_coarse_weights_is_flagged(shared_data, tmp_path, capsys):
    """Yolo-FastestV2: the README's settings keep it (cosine 0.9996); 64 levels damage it (0.96)."""
    model = shared_data / "models" / "yolo-fastestv2.onnx"
    code, out, err = run(capsys, "compress", model, *README_SETTINGS, "-o", tmp_path / "y.eqz")
    assert code == 0 and err == "" and "845" in out
    coarse = [*README_SETTINGS[:-3], "64", "--xmax", "max"]
    code, out, err = run(capsys, "compress", model, *coarse, "-o", tmp_path / "y64.eqz")
    assert code == 0 and "output '845' has cosine 0.9" in err


def test_the_fidelity_check_can_be_skipped(tmp_path, capsys):
    code, out, err = run(capsys, "compress", model_path(), *DAMAGING, "--no-fidelity", "-o", tmp_path / "m.eqz")
    assert code == 0 and err == "" and "output fidelity" not in out and (tmp_path / "m.eqz").is_file()
    code, _, err = run(capsys, "compress", model_path(), *README_SETTINGS, "--no-fidelity", "--data", "x.npy",
                       "-o", tmp_path / "n.eqz")
    assert code == 2 and "--no-fidelity" in err
