"""The /metrics endpoint: who may read it, and what it exports.

Event metrics (counters and histograms) are ``prometheus_client`` objects defined next to the
code that moves them (``copytrading/metrics.py``, ``execution/metrics.py``,
``execution/venue/metrics.py``, ``copytrading/detection/metrics.py``). A multi-process server
(gunicorn with several workers, ``rundramatiq``) sets ``PROMETHEUS_MULTIPROC_DIR`` before any of
them is created (``gunicorn.conf.py``, ``polyhunter/management/commands/rundramatiq.py``), so each
process writes its own file and a scrape sums them. State metrics (open and stuck copies, switches,
queue depths, heartbeats) are read when scraped, by the collectors apps register here: nothing on
the order path pays for them.

Access: ``Authorization: Bearer <METRICS_TOKEN>``, or a client address inside
``METRICS_ALLOWED_NETWORKS``. With neither configured the endpoint is refused, except in the
embedded demo (SQLite, no services), where it is public.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable, Iterator

import prometheus_client
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

_scrape_collectors: list[Collector] = []


def register_scrape_collector(collector: Collector) -> None:
    """Add a collector read at every scrape of /metrics (state read from the database or broker)."""
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


class _Forward(Collector):
    """This process's default registry, inside the registry a scrape builds."""

    def collect(self) -> Iterable[Metric]:
        return prometheus_client.REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    """What one scrape exports: every process's event metrics, then the state collectors."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward())
    for collector in _scrape_collectors:
        registry.register(collector)
    return registry


def metrics_access(*, authorization: str, remote_addr: str) -> bool:
    """Whether a scrape with this Authorization header from this address may read the metrics."""
    token: str = settings.METRICS_TOKEN
    networks: list[str] = settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return bool(settings.METRICS_PUBLIC)
    scheme, _, given = authorization.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in networks)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_access(
        authorization=request.headers.get("Authorization", ""), remote_addr=request.META.get("REMOTE_ADDR", "")
    ):
        response = HttpResponse("metrics need a bearer token\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = prometheus_client.generate_latest(scrape_registry())
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)


def sample_lines(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample of an exposition text (tests and the dashboard check)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield sample.name, dict(sample.labels), float(sample.value)
