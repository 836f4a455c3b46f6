"""Issue #18, finding 5: the RPC library's exception text (URL, API key and all) was stored in
``DetectorState.last_error`` and logged as it was. Stored errors are scrubbed now."""

from __future__ import annotations

import socket

import pytest
from django.test import override_settings

from copytrading.detection.service import detection_scan
from copytrading.models import DetectorState

RPC_KEY = "AlchemyKeyAbc123DEF456ghi789JKL0"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.django_db
def test_finding_5_a_failed_chain_scan_stores_its_error_without_the_rpc_credentials() -> None:
    """Failed before the fix: last_error held '... with url: /v2/<key>?apikey=<key> ...'."""
    url = f"http://rpcuser:rpcPassw0rd@127.0.0.1:{closed_port()}/v2/{RPC_KEY}?apikey=QueryKey12345"
    with override_settings(POLYGON_RPC_URL=url), pytest.raises(Exception, match="Max retries"):
        detection_scan()
    error = DetectorState.objects.get(name="chain:polygon").last_error
    assert "ConnectionError" in error
    assert "/v2/***" in error
    for secret in (RPC_KEY, "rpcPassw0rd", "QueryKey12345"):
        assert secret not in error
