"""--coded-weights: the C rANS decoder against the C++ coder, and coded models equal to plain ones."""

import subprocess

import numpy as np
import pytest
from mcu_models import MLPERF_TINY

from edgequant.coding import encode
from edgequant.microcontroller import HostModel, export_c
from edgequant.microcontroller.coded_weights import CodedStream
from edgequant.microcontroller.codegen import c_array
from edgequant.microcontroller.host import c_compiler
from edgequant.microcontroller.runtime_sources import runtime_dir

HARNESS = """
#include <stdio.h>
#include "eq_rans_decode.h"
{arrays}
static const eq_rans_stream stream = {{{count}, {block}, {blocks}, {scale_bits}, {entries}, {escape}, {base}, {raw},
    symbols, starts, rans_bytes, escape_bytes, coded}};
static int8_t out[{count} + 1];
int main(void) {{
    int i, status = eq_rans_decode_s8(&stream, out);
    printf("%d\\n", status);
    for (i = 0; i < {count}; ++i) printf("%d ", out[i]);
    return 0;
}}
"""


def c_decode(stream: CodedStream, tmp_path, corrupt_at=None):
    data = bytearray(stream.data)
    if corrupt_at is not None:
        data[corrupt_at] ^= 0x5A
    arrays = "".join([c_array("symbols", stream.symbols if stream.symbols.size else np.zeros(1, np.int32)),
                      c_array("starts", stream.starts), c_array("rans_bytes", stream.rans_bytes),
                      c_array("escape_bytes", stream.escape_bytes),
                      c_array("coded", np.frombuffer(bytes(data), np.uint8))])
    source = tmp_path / "decode.c"
    source.write_text(HARNESS.format(arrays=arrays, count=stream.symbol_count, block=stream.block_symbols,
                                     blocks=len(stream.rans_bytes), scale_bits=stream.scale_bits,
                                     entries=len(stream.starts) - 1, escape=int(stream.has_escape),
                                     base=stream.escape_base, raw=stream.raw_bits))
    binary = tmp_path / "decode"
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-fsanitize=address,undefined", f"-I{runtime_dir()}"]
    build = subprocess.run([c_compiler(), *flags, str(source), str(runtime_dir() / "eq_rans_decode.c"), "-o",
                            str(binary)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    lines = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60, check=True).stdout.split("\n")
    return int(lines[0]), np.array(lines[1].split(), np.int8)


@pytest.mark.parametrize("case", ["peaked", "uniform", "with_escapes", "tiny"])
def test_c_decoder_matches_the_coder(case, tmp_path):
    rng = np.random.default_rng(3)
    if case == "peaked":  # several blocks, a skewed table
        symbols = np.clip(np.round(rng.laplace(0, 6, 40_000)), -128, 127)
    elif case == "uniform":
        symbols = rng.integers(-128, 128, 5000)
    elif case == "with_escapes":  # rare values the table sends raw
        symbols = np.where(rng.random(20_000) < 0.002, rng.integers(-128, 128, 20_000), rng.integers(-3, 4, 20_000))
    else:
        symbols = np.array([7])
    symbols = symbols.astype(np.int32)
    stream = CodedStream.parse(encode(symbols))
    if case == "peaked":
        assert len(stream.rans_bytes) > 1
    status, decoded = c_decode(stream, tmp_path)
    assert status == 0 and np.array_equal(decoded, symbols)
    if case in ("peaked", "with_escapes"):
        status, _ = c_decode(stream, tmp_path, corrupt_at=len(stream.data) // 3)
        assert status == -1  # a damaged stream is reported, not silently decoded


def test_coded_models_equal_plain_ones_and_save_flash(tflite_dir, tmp_path):
    model = tflite_dir / MLPERF_TINY["vww"]
    plain = export_c(model, tmp_path / "plain")
    coded = export_c(model, tmp_path / "coded", coded_weights=True)
    assert coded.weight_bytes < plain.weight_bytes == coded.plain_weight_bytes
    largest_filter = max(layer.constants["filter"].nbytes for layer in plain.graph.layers
                         if "filter" in layer.constants)
    assert plain.arena_bytes < coded.arena_bytes <= plain.arena_bytes + largest_filter + 16
    source = (coded.directory / "model.c").read_text()
    assert "eq_rans_decode_s8" in source and (coded.directory / "eq_rans_decode.c").is_file()
    assert not (plain.directory / "eq_rans_decode.c").exists()
    inputs = np.random.default_rng(1).integers(-128, 128, (10, plain.graph.input_activation.size), dtype=np.int8)
    assert np.array_equal(HostModel.from_report(coded)(inputs), HostModel.from_report(plain)(inputs))


def test_the_stream_layout_comes_from_the_cpp_reader():
    """CodedStream.parse reads the format through the C++ stream reader: an empty stream has no
    blocks (the former Python parser raised IndexError), a forged or truncated one is a ValueError."""
    empty = CodedStream.parse(encode(np.zeros(0, np.int32)))
    assert empty.symbol_count == 0 and empty.rans_bytes.size == 0 and empty.data == b""
    stream = encode(np.arange(-50, 50, dtype=np.int32).repeat(30))
    parsed = CodedStream.parse(stream)
    assert int(parsed.starts[-1]) == 1 << parsed.scale_bits
    assert len(parsed.data) == int(parsed.rans_bytes.sum() + parsed.escape_bytes.sum())
    for bad in (stream[:30], stream[:-1], b"EQRS" + stream[4:8] + bytes(len(stream) - 8)):
        with pytest.raises(ValueError):
            CodedStream.parse(bad)
