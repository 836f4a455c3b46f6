from __future__ import annotations

import pytest

from execution.simulator.chain.local import LocalChain
from tests.copytrading.detection.evm import Evm


@pytest.fixture
def evm(chain: LocalChain) -> Evm:
    """The exchange stand-ins on the session's anvil node (the chain fixture reverts it after the test)."""
    return Evm(chain)
