"""Content hashes that identify a sweep, so that rerunning the same sweep resumes it."""

from __future__ import annotations

import hashlib
import json

import numpy as np


def model_hash(model_bytes: bytes) -> str:
    """SHA-256 of the serialized model (external data inlined)."""
    return hashlib.sha256(model_bytes).hexdigest()


def data_hash(inputs: np.ndarray, labels: np.ndarray | None) -> str:
    """SHA-256 of the inputs' and labels' dtype, shape and bytes."""
    digest = hashlib.sha256()
    for array in (inputs, labels):
        if array is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def sweep_id(model_digest: str, data_digest: str, settings: dict) -> str:
    """Identity of a sweep: model, data and what is quantized (roles, biases). 16 hex digits."""
    identity = json.dumps({"model": model_digest, "data": data_digest, **settings}, sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()[:16]
