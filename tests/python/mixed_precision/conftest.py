"""Fixtures of the mixed-precision tests (the constructed network: see constructed_network.py)."""

import numpy as np
import pytest
from constructed_network import constructed_data, constructed_model

from edgequant.zoo import load_test_set


@pytest.fixture
def constructed():
    return constructed_model()


@pytest.fixture
def constructed_xy():
    return constructed_data()


@pytest.fixture
def torch_one_thread():
    """Tiny models: torch's thread pool only adds overhead (and the CI machine is shared)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    """The digits test set as the ``x`` / ``y`` npz that ``edgequant mpq --data`` reads."""
    x, y = load_test_set()
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, x=x, y=y)
    return path
