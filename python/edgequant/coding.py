"""Entropy coding of symbol streams: a real rANS coder whose output size can be measured.

``encode`` turns int32 symbols (quantizer output) into bytes and ``decode`` gives them back bit
for bit. The model is a static frequency table (quantised to a power-of-two total chosen from
the alphabet size) with an escape entry for values cheaper to send raw, so any int32 stream
codes: small alphabets close to their entropy, huge or all-distinct ones at about their raw
width. Blocks of up to 2^20 symbols are coded independently on all cores. The stream carries
CRC-32 checksums of its header, its payload and the decoded symbols: truncated, corrupted or
unknown data raises :class:`CorruptDataError`. The byte format is documented at the top of
``cpp/coding/symbol_stream.h``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _core
from ._validation import integer_in, symbol_array

#: Raised (a ``ValueError``) when coded bytes are inconsistent: bad header, truncated or damaged stream.
CorruptDataError = _core.CorruptDataError

#: Bytes of the fixed header; an empty stream codes to exactly this many bytes.
HEADER_BYTES = 40

__all__ = ["HEADER_BYTES", "CorruptDataError", "StreamInfo", "coded_size_bits", "decode", "encode",
           "stream_info"]


@dataclass(frozen=True)
class StreamInfo:
    """Layout of a coded stream, from :func:`stream_info`.

    Attributes
    ----------
    symbol_count : int
        Number of symbols the stream decodes to.
    block_symbols, blocks : int
        Symbols per independently coded block, and number of blocks.
    scale_bits : int
        Frequencies are quantised to a total of ``2**scale_bits`` (0 for an empty stream).
    table_symbols : int
        Symbols coded through the frequency table.
    has_escape : bool
        Whether other values are sent raw, ``raw_bits`` bits each.
    raw_bits : int
    header_bytes, table_bytes, directory_bytes, rans_bytes, escape_bytes : int
        Where the stream's bytes go; they sum to its length.
    """

    symbol_count: int
    block_symbols: int
    blocks: int
    scale_bits: int
    table_symbols: int
    has_escape: bool
    raw_bits: int
    header_bytes: int
    table_bytes: int
    directory_bytes: int
    rans_bytes: int
    escape_bytes: int

    @property
    def total_bytes(self) -> int:
        """Length of the coded stream in bytes."""
        return (self.header_bytes + self.table_bytes + self.directory_bytes + self.rans_bytes
                + self.escape_bytes)

    @property
    def overhead_bytes(self) -> int:
        """Bytes that are not coded symbols: header, frequency table and block directory."""
        return self.header_bytes + self.table_bytes + self.directory_bytes


def encode(symbols) -> bytes:
    """Entropy-code integer symbols into a self-checking byte stream.

    Parameters
    ----------
    symbols : array_like of int
        Any integer dtype whose values fit in int32, any shape (flattened in C order),
        contiguous or not. An empty array codes to a header-only stream of
        :data:`HEADER_BYTES` bytes.

    Returns
    -------
    bytes
        The coded stream. It depends only on the symbols, not on the number of threads.

    Raises
    ------
    TypeError
        If ``symbols`` is not an integer array.
    ValueError
        If a value lies outside the int32 range.

    Examples
    --------
    >>> data = encode(np.array([0, 0, 1, -1, 0], dtype=np.int32))
    >>> decode(data)
    array([ 0,  0,  1, -1,  0], dtype=int32)
    """
    array = symbol_array(symbols, allow_empty=True).reshape(-1)
    return _core.coding_encode(array)


def _byte_array(data) -> np.ndarray:
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8 or data.ndim != 1:
            raise TypeError(f"data must be bytes or a 1-D uint8 array, got {data.dtype} "
                            f"with shape {data.shape}")
        return np.ascontiguousarray(data)
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        return np.frombuffer(view, dtype=np.uint8)
    raise TypeError("data must be bytes, bytearray, memoryview or a uint8 array, "
                    f"got {type(data).__name__}")


def decode(data, max_symbols: int | None = None) -> np.ndarray:
    """Decode a stream made by :func:`encode`.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or 1-D uint8 ndarray
        The whole coded stream, nothing before or after it.
    max_symbols : int, optional
        Refuse a stream that declares more symbols than this, before allocating or decoding
        anything. A few kilobytes can legitimately decode to gigabytes (a stream of one repeated
        symbol costs almost no bits), so bound any stream from an untrusted source by what you
        expect it to hold.

    Returns
    -------
    numpy.ndarray
        1-D int32 array, bit-identical to the (flattened) symbols that were encoded.

    Raises
    ------
    TypeError
        If ``data`` is not a byte buffer.
    CorruptDataError
        (a ``ValueError``) If the data is truncated, corrupted, has trailing bytes, is not an
        edgequant coded stream, has a format version this edgequant does not read, or declares
        more than ``max_symbols`` symbols.
    ValueError
        If ``max_symbols`` is negative.
    """
    limit = -1 if max_symbols is None else integer_in(max_symbols, 0, 2**63 - 1, "max_symbols")
    return _core.coding_decode(_byte_array(data), limit)


def stream_info(data) -> StreamInfo:
    """Check a coded stream's header, payload checksum, table and layout, and describe it.

    Does not decode the symbols (their own checksum is verified by :func:`decode`).

    Parameters
    ----------
    data : bytes, bytearray, memoryview or 1-D uint8 ndarray

    Returns
    -------
    StreamInfo

    Raises
    ------
    TypeError, CorruptDataError
        As :func:`decode`.
    """
    return StreamInfo(**_core.coding_info(_byte_array(data)))


def coded_size_bits(symbols) -> int:
    """Size in bits of ``encode(symbols)``, header and table included.

    The measured counterpart of the ideal ``N·H`` of :func:`edgequant._core.entropy_bits`.

    Parameters
    ----------
    symbols : array_like of int
        As :func:`encode`.

    Returns
    -------
    int
    """
    return 8 * len(encode(symbols))
