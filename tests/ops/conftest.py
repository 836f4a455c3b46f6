"""Operations tests: the pipeline's simulated venue fixtures, and scraping /metrics as Prometheus does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client, override_settings

from polyhunter.metrics import sample_lines
from tests.copytrading.pipeline.conftest import sim, simulator

__all__ = ["scrape", "sim", "simulator"]

TOKEN = "scrape-token-for-tests"
Scrape = Callable[..., float]


@pytest.fixture
def scrape(client: Client) -> Scrape:
    """The value of one sample of GET /metrics (0 when absent), read with the bearer token."""

    def read(name: str, **labels: str) -> float:
        with override_settings(METRICS_TOKEN=TOKEN):
            response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        for sample, found, value in sample_lines(response.content.decode()):
            if sample == name and all(found.get(k) == v for k, v in labels.items()):
                return value
        return 0.0

    return read
