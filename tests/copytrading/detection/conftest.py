from __future__ import annotations

import pytest

from tests.copytrading.detection.evm import Evm


@pytest.fixture
def evm() -> Evm:
    """A fresh local chain with the exchange stand-ins deployed."""
    return Evm()
