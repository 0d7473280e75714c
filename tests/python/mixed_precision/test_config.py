"""The JSON bit config: round trip, channel lists, corrupt files, configs that do not match the model."""

import json

import pytest

from edgequant.mixed_precision import bits_by_tensor, list_components, load_config, make_config, save_config
from edgequant.zoo import model_path


def test_round_trip_with_metadata(tmp_path):
    config = make_config({"0.weight": 8, "3.weight": 2, "9.weight": 4}, critical={"classes": [3, 9]}, budget=3.0)
    path = save_config(config, tmp_path / "bits.json")
    loaded = load_config(path)
    assert loaded == json.loads(json.dumps(config))
    assert loaded["format"] == "edgequant-mpq" and loaded["version"] == 1
    assert loaded["weights"] == {"0.weight": 8, "3.weight": 2, "9.weight": 4}
    assert bits_by_tensor(loaded, model_path()) == {"0.weight": (8, 0), "3.weight": (2, 0), "9.weight": (4, 0)}


def test_channel_components_gather_into_one_list_per_tensor(tmp_path):
    components = list_components(model_path(), per_channel=True)
    bits = {c.name: (2 if c.channel % 2 else 8) for c in components}
    config = load_config(save_config(make_config(bits, components), tmp_path / "bits.json"))
    assert config["weights"]["0.weight"] == [8, 2] * 16 and len(config["weights"]["9.weight"]) == 10
    assert bits_by_tensor(config, model_path())["3.weight"] == ([8, 2] * 32, 0)
    partial = {name: b for name, b in bits.items() if name != "3.weight[5]"}
    with pytest.raises(ValueError, match=r"tensor '3.weight' has no bit width for output channel\(s\) \[5\]"):
        make_config(partial, components)


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not a JSON bit config"),
    ("[1, 2]", "is a JSON object"),
    ('{"format": "onnx", "version": 1, "weights": {"a": 4}}', "not an edgequant-mpq config"),
    ('{"format": "edgequant-mpq", "version": 9, "weights": {"a": 4}}', "version 9 is newer"),
    ('{"format": "edgequant-mpq", "version": "1", "weights": {"a": 4}}', "positive integer"),
    ('{"format": "edgequant-mpq", "version": 1, "weights": {}}', "non-empty object"),
    ('{"format": "edgequant-mpq", "version": 1, "weights": {"a": 1}}', r"integer in \[2, 16\]"),
    ('{"format": "edgequant-mpq", "version": 1, "weights": {"a": 4.5}}', r"integer in \[2, 16\]"),
    ('{"format": "edgequant-mpq", "version": 1, "weights": {"a": []}}', r"integer in \[2, 16\]"),
    ('{"format": "edgequant-mpq", "version": 1, "weights": {"a": true}}', r"integer in \[2, 16\]"),
    ('{"format": "edgequant-mpq", "version": 1, "weights": {"a": 4}, "quantizer": {"method": "mulaw"}}',
     '"quantizer" must be'),
])
def test_corrupt_files_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "bits.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(path)


def test_truncated_file(tmp_path):
    path = save_config(make_config({"a": 4}), tmp_path / "bits.json")
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match="not a JSON bit config"):
        load_config(path)


@pytest.mark.parametrize(("weights", "message"), [
    ({"0.weight": 8, "3.weight": 2, "9.weight": 4, "conv7.weight": 4}, r"names tensor\(s\) \['conv7.weight'\]"),
    ({"0.weight": 8, "9.weight": 4}, r"no bit width for weight\(s\) \['3.weight'\]"),
    ({"0.weight": [4] * 31, "3.weight": 2, "9.weight": 4}, "has 32 output channels, the config lists 31"),
])
def test_a_config_that_does_not_match_the_model(weights, message):
    with pytest.raises(ValueError, match=message):
        bits_by_tensor(make_config(weights), model_path())


def test_metadata_cannot_overwrite_the_format():
    with pytest.raises(ValueError, match="metadata cannot set"):
        make_config({"a": 4}, version=3)
