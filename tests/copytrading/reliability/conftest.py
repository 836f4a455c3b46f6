"""Fixtures of the reliability scenarios: the simulated venue behind a recording proxy, evidence
for the secret scan, real worker processes, and the I1-I5 check every scenario must end with."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Generator, Iterator

import dramatiq
import pytest
from django.test import override_settings

from copytrading.models import Deployment
from execution.simulator import VenueSimulator
from execution.venue.gateway import default_gateway
from tests.copytrading.pipeline.conftest import SCENARIO
from tests.copytrading.reliability.harness import Evidence, MessageRecorder, Venue, WorkerProcess, limits
from tests.copytrading.reliability.invariants import Caps, Tracker, check_invariants
from tests.copytrading.reliability.venue_proxy import VenueProxy
from tests.factories import shared_deployment
from tests.outputs import production_handler

# Everything that may log on the order path, at DEBUG: the I5 scan reads what they say.
LOGGERS = ["", "copytrading", "execution", "accounts", "polyhunter", "dramatiq", "httpx", "httpcore", "django"]


@pytest.fixture(scope="session")
def simulator() -> Iterator[VenueSimulator]:
    with VenueSimulator(SCENARIO) as sim:
        yield sim


@pytest.fixture(scope="session")
def venue_proxy(simulator: VenueSimulator) -> Iterator[VenueProxy]:
    proxy = VenueProxy(simulator.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def venue(simulator: VenueSimulator, venue_proxy: VenueProxy, transactional_db: None) -> Iterator[Venue]:
    """A fresh venue; the platform (this process and its workers) talks to it through the proxy.

    Signer rate limits are lifted (S8 sets its own): scenarios reuse signers within one second.
    """
    simulator.reset(SCENARIO)
    venue_proxy.reset()
    with override_settings(POLYMARKET_CLOB_URL=venue_proxy.url, POLYMARKET_DATA_URL=venue_proxy.url):
        default_gateway.cache_clear()
        limits(signer_orders_per_second=10_000)
        yield Venue(sim=simulator, proxy=venue_proxy)
    default_gateway.cache_clear()
    simulator.clear_faults()
    venue_proxy.reset()


@pytest.fixture
def evidence(caplog: pytest.LogCaptureFixture, broker: dramatiq.Broker) -> Iterator[Evidence]:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    recorder = MessageRecorder()
    broker.add_middleware(recorder)
    # And what the production handler writes, tracebacks rendered as production renders them.
    output = io.StringIO()
    handler = production_handler(output)
    logging.getLogger().addHandler(handler)
    yield Evidence(log_text=lambda: caplog.text, recorder=recorder, broker=broker, handler_text=output.getvalue)
    logging.getLogger().removeHandler(handler)
    broker.middleware.remove(recorder)


@pytest.fixture
def deployment(venue: Venue) -> Deployment:
    return shared_deployment()


CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        # An expected failure (xfail) failed too, and a skipped scenario never ran: neither got
        # to its check.
        item.stash[CALL_FAILED] = report.failed or report.skipped or hasattr(report, "wasxfail")
    return report


@pytest.fixture(autouse=True)
def tracker(request: pytest.FixtureRequest) -> Iterator[Tracker]:
    """Fails a scenario that passed without ending with the I1-I5 check."""
    tracker = Tracker()
    yield tracker
    if not request.node.stash.get(CALL_FAILED, True):
        assert tracker.checked, "every reliability scenario must end with check(...) (I1-I5)"


Checker = Callable[..., None]


@pytest.fixture
def check(venue: Venue, evidence: Evidence, tracker: Tracker) -> Checker:
    def run(*, caps: Caps | None = None) -> None:
        evidence.close_processes()
        check_invariants(venue, evidence, tracker, caps=caps)

    return run


Spawner = Callable[..., WorkerProcess]


@pytest.fixture
def spawn(venue: Venue, evidence: Evidence) -> Iterator[Spawner]:
    """Start worker processes on the test's database and venue; killed and scanned at the end."""

    def start(*args: str, env: dict[str, str] | None = None, command: list[str] | None = None) -> WorkerProcess:
        process = WorkerProcess(list(args), venue_url=venue.url, env=env, command=command)
        evidence.processes.append(process)
        return process

    yield start
    evidence.close_processes()
