"""edgequant.coding: bit-exact round trips, corrupted data, input checks and coded size."""

from __future__ import annotations

import lzma

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import edgequant
from edgequant import _core, coding
from edgequant.coding import CorruptDataError

INT32_MIN, INT32_MAX = np.iinfo(np.int32).min, np.iinfo(np.int32).max


def assert_round_trip(symbols) -> bytes:
    expected = np.asarray(symbols).reshape(-1).astype(np.int32)
    data = coding.encode(symbols)
    decoded = coding.decode(data)
    assert decoded.dtype == np.int32 and decoded.ndim == 1
    np.testing.assert_array_equal(decoded, expected)
    return data


def laplacian_symbols(n: int, step: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.rint(rng.laplace(0.0, 1.0, n) / step).astype(np.int32)


# --- round trips ------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.int32, st.integers(0, 3000),
                  elements=st.one_of(st.integers(-3, 3), st.integers(INT32_MIN, INT32_MAX))))
def test_round_trip_hypothesis(symbols):
    assert_round_trip(symbols)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 1000, 16385, 300_001])
@pytest.mark.parametrize("step", [0.05, 0.5, 4.0])
def test_round_trip_random_streams(n, step):
    assert_round_trip(laplacian_symbols(n, step, seed=n))


def test_single_symbol_stream_is_header_and_states_only():
    data = assert_round_trip(np.full(1_000_000, -17, dtype=np.int32))
    assert len(data) < 1000


def test_all_distinct_stream():
    rng = np.random.default_rng(1)
    symbols = rng.permutation(200_000).astype(np.int32) - 100_000
    data = assert_round_trip(symbols)
    assert len(data) <= 200_000 * 18 / 8 + 1000  # about the raw 18 bits each


def test_maximum_alphabet_all_distinct():
    symbols = np.random.default_rng(2).permutation(1 << 24).astype(np.int32) - (1 << 23)
    assert_round_trip(symbols)


def test_large_table_decoded_by_binary_search():
    # ~10^5 table entries: a frequency total above the decoder's slot-lookup limit (2^20).
    symbols = laplacian_symbols(2_000_000, step=1e-4, seed=3)
    info = coding.stream_info(assert_round_trip(symbols))
    assert info.scale_bits > 20 and info.table_symbols > 50_000


def test_negative_and_extreme_values():
    rng = np.random.default_rng(4)
    symbols = laplacian_symbols(100_000, 0.3)
    symbols[rng.integers(0, symbols.size, 500)] = INT32_MIN
    symbols[rng.integers(0, symbols.size, 500)] = INT32_MAX
    symbols[rng.integers(0, symbols.size, 50)] = rng.integers(INT32_MIN, INT32_MAX, 50)
    assert_round_trip(symbols)
    assert_round_trip(np.array([INT32_MIN, INT32_MAX, 0, -1], dtype=np.int32))
    assert_round_trip(rng.integers(INT32_MIN, INT32_MAX, 50_000, endpoint=True, dtype=np.int64))


def test_non_contiguous_and_other_integer_dtypes():
    base = laplacian_symbols(40_000, 0.2).reshape(200, 200)
    assert_round_trip(base[::3, 1::2])
    assert_round_trip(base.T)
    for dtype in (np.int8, np.int16, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        info = np.iinfo(dtype)
        values = np.clip(base, max(info.min, INT32_MIN), min(info.max, INT32_MAX)).astype(dtype)
        assert_round_trip(values)


def test_empty_input_codes_to_the_header_alone():
    data = coding.encode(np.array([], dtype=np.int64))
    assert len(data) == coding.HEADER_BYTES
    decoded = coding.decode(data)
    assert decoded.dtype == np.int32 and decoded.shape == (0,)
    assert coding.stream_info(data).symbol_count == 0


def test_output_does_not_depend_on_threads():
    symbols = laplacian_symbols(3_000_000, 0.2)
    data = coding.encode(symbols)
    edgequant.set_num_threads(1)
    try:
        assert coding.encode(symbols) == data
        np.testing.assert_array_equal(coding.decode(data), symbols)
    finally:
        edgequant.set_num_threads(0)


def test_decode_accepts_byte_buffers():
    symbols = laplacian_symbols(1000, 0.2)
    data = coding.encode(symbols)
    strided = np.repeat(np.frombuffer(data, dtype=np.uint8), 2)[::2]  # non-contiguous
    for buffer in (bytearray(data), memoryview(data), np.frombuffer(data, dtype=np.uint8), strided):
        np.testing.assert_array_equal(coding.decode(buffer), symbols)


# --- corrupted data ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_stream():
    symbols = laplacian_symbols(3000, 0.2, seed=5)
    symbols[::101] = INT32_MAX  # an escape section too
    return symbols, coding.encode(symbols)


def test_corrupt_data_error_is_a_value_error():
    assert issubclass(CorruptDataError, ValueError)


def test_every_truncation_is_rejected(small_stream):
    _, data = small_stream
    for length in range(len(data)):
        with pytest.raises(CorruptDataError):
            coding.decode(data[:length])


def test_trailing_bytes_are_rejected(small_stream):
    _, data = small_stream
    with pytest.raises(CorruptDataError, match="after the end"):
        coding.decode(data + b"\0")


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_every_byte_flip_is_rejected(small_stream, mask):
    _, data = small_stream
    for i in range(len(data)):
        corrupted = bytearray(data)
        corrupted[i] ^= mask
        with pytest.raises(CorruptDataError):
            coding.decode(corrupted)


def test_wrong_magic_and_future_version(small_stream):
    _, data = small_stream
    with pytest.raises(CorruptDataError, match="magic"):
        coding.decode(b"NOPE" + data[4:])
    with pytest.raises(CorruptDataError, match="truncated"):
        coding.decode(b"")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_are_rejected(blob):
    with pytest.raises(CorruptDataError):
        coding.decode(b"EQRS" + blob)


# --- input checks -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.array([1.0, 2.0]), np.array([True]), np.array(["a"]), [0.5]])
def test_encode_rejects_non_integers(bad):
    with pytest.raises(TypeError):
        coding.encode(bad)


def test_encode_rejects_values_outside_int32():
    with pytest.raises(ValueError, match="int32"):
        coding.encode(np.array([0, 1 << 40], dtype=np.int64))


@pytest.mark.parametrize("bad", ["text", 12, None, [1, 2, 3], np.zeros(4, dtype=np.int32),
                                 np.zeros((2, 2), dtype=np.uint8)])
def test_decode_rejects_non_bytes(bad):
    with pytest.raises(TypeError):
        coding.decode(bad)


# --- size ---------------------------------------------------------------------------------------

def narrowest(symbols: np.ndarray) -> np.ndarray:
    for dtype in (np.int8, np.int16):
        info = np.iinfo(dtype)
        if symbols.min() >= info.min and symbols.max() <= info.max:
            return symbols.astype(dtype)
    return symbols


def test_coded_size_close_to_entropy_and_beats_zstd_and_xz():
    import zstandard
    n = 1_000_000
    symbols = laplacian_symbols(n, step=0.17, seed=6)
    entropy = _core.entropy_bits(symbols)
    assert 4.8 < entropy < 5.2
    data = coding.encode(symbols)
    info = coding.stream_info(data)
    coded_bits = 8 * len(data)
    ideal_bits = n * entropy + 8 * info.overhead_bytes
    assert coded_bits == coding.coded_size_bits(symbols)
    assert ideal_bits <= coded_bits <= 1.02 * ideal_bits
    raw = narrowest(symbols).tobytes()
    zstd_bytes = len(zstandard.ZstdCompressor(level=19).compress(raw))
    xz_bytes = len(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME))
    assert len(data) < zstd_bytes
    assert len(data) < xz_bytes


def test_corrupt_data_error_is_one_type_across_modules():
    import edgequant._core as core
    import edgequant._engine as engine

    assert engine.CorruptDataError is core.CorruptDataError is coding.CorruptDataError
    with pytest.raises(coding.CorruptDataError):
        coding.decode(b"EQRS" + b"\0" * 60)  # raised by _core even after _engine registered its translator


# --- decompression bombs (issue 9) ----------------------------------------------------------------

def single_symbol_stream(blocks: int, block_symbols: int) -> bytes:
    """A valid stream, written by hand, of blocks·block_symbols zeros: one table entry whose
    frequency is the whole range, so each block is its four initial states and nothing else."""
    import struct
    import zlib

    table = bytes([12, 0, 1, 0]) + bytes([0xFF, 0x1F])  # scale 2^12, no escape, K=1, symbol 0, freq 4096
    state = struct.pack("<Q", 1 << 31)
    directory = struct.pack("<II", 4 * len(state), 0) * blocks
    payload = table + directory + state * 4 * blocks
    n = blocks * block_symbols
    symbols_crc = 0
    chunk = bytes(4 << 20)
    for start in range(0, 4 * n, len(chunk)):
        symbols_crc = zlib.crc32(chunk[:min(len(chunk), 4 * n - start)], symbols_crc)
    head = b"EQRS" + bytes([1, 0, 0, 0]) + struct.pack("<QIIQI", n, block_symbols, symbols_crc, len(payload),
                                                        zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def test_max_symbols_refuses_a_bomb_before_decoding():
    # 64 blocks of 2^22 symbols: 2.6 KB that would decode to 1 GiB
    bomb = single_symbol_stream(64, 1 << 22)
    assert len(bomb) < 2700 and coding.stream_info(bomb).symbol_count == 1 << 28
    with pytest.raises(CorruptDataError, match="declares 268435456 symbols, more than the 1000000"):
        coding.decode(bomb, max_symbols=1_000_000)


def test_max_symbols_bounds_and_accepts_exactly():
    data = single_symbol_stream(4, 1 << 16)  # the same construction, small enough to decode
    np.testing.assert_array_equal(coding.decode(data), np.zeros(1 << 18, np.int32))
    np.testing.assert_array_equal(coding.decode(data, max_symbols=1 << 18), np.zeros(1 << 18, np.int32))
    with pytest.raises(CorruptDataError, match="more than the 262143"):
        coding.decode(data, max_symbols=(1 << 18) - 1)
    assert coding.decode(coding.encode(np.zeros(0, np.int32)), max_symbols=0).size == 0
    for bad, error in ((-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="max_symbols"):
            coding.decode(data, max_symbols=bad)
