"""Fixtures of the mixed-precision tests (the constructed network: see constructed_network.py)."""

import pytest
from constructed_network import constructed_data, constructed_model


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
