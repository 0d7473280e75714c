"""Fixtures of the mixed-precision tests (the constructed network: see constructed_network.py)."""

import pytest
from constructed_network import constructed_data, constructed_model


@pytest.fixture
def constructed():
    return constructed_model()


@pytest.fixture
def constructed_xy():
    return constructed_data()
