"""Shared parts of the reliability scenarios: the venue in front of the simulator, real worker
processes, what the I5 scan reads, and a reconciler driven on an explicit clock."""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dramatiq
from django.db import connection
from django.utils import timezone
from dramatiq.broker import MessageProxy

from accounts.models import TradingAccount
from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade, WatchedWallet
from copytrading.pipeline.reconcile import reconcile_due
from execution.custody import custody_set_speed
from execution.models import GuardrailSettings
from execution.simulator import VenueSimulator
from tests.copytrading.reliability.venue_proxy import VenueProxy
from tests.factories import make_account, make_leader, make_leader_trade, make_relationship

ROOT = Path(__file__).resolve().parents[3]
OPEN = (
    CopyTrade.Status.SIGNED,
    CopyTrade.Status.UNKNOWN,
    CopyTrade.Status.DELAYED,
    CopyTrade.Status.LIVE,
    CopyTrade.Status.FILLED,
)


@dataclass
class Venue:
    """The simulated venue and the recording proxy the platform talks to."""

    sim: VenueSimulator
    proxy: VenueProxy

    @property
    def url(self) -> str:
        return self.proxy.url

    def posts_by_signature(self) -> dict[str, int]:
        """How many order POSTs carrying each signature reached the proxy (forwarded or not)."""
        import json

        counts: dict[str, int] = {}
        for post in self.proxy.order_posts():
            decoded = json.loads(post.body)
            for item in decoded if isinstance(decoded, list) else [decoded]:
                signature = str(item["order"]["signature"])
                counts[signature] = counts.get(signature, 0) + 1
        return counts


class MessageRecorder(dramatiq.Middleware):
    """Keeps every message body this process enqueued or processed (the I5 scan reads them)."""

    def __init__(self) -> None:
        self.enqueued: list[str] = []
        self.processed: list[str] = []
        self._lock = threading.Lock()

    @property
    def bodies(self) -> list[str]:
        with self._lock:
            return self.enqueued + self.processed

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        with self._lock:
            self.enqueued.append(message.encode().decode())

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            self.processed.append(message.encode().decode())


@dataclass
class Evidence:
    """Everything the I5 scan reads besides the admin pages, the stored errors and check_config:
    logs (as captured, and as the production handler writes them, tracebacks included), process
    output, messages."""

    log_text: Callable[[], str]
    recorder: MessageRecorder
    broker: dramatiq.Broker
    handler_text: Callable[[], str] = str  # the production handler's output (no handler: "")
    outputs: list[tuple[str, str]] = field(default_factory=list)
    processes: list[WorkerProcess] = field(default_factory=list)
    # Brokers of the test's own Redis instances (S12-S16): their payloads are scanned too.
    extra_brokers: list[dramatiq.Broker] = field(default_factory=list)

    def close_processes(self) -> None:
        """Kill what still runs (stopped ones too) and keep every process's output for the scan."""
        while self.processes:
            process = self.processes.pop()
            process.close()
            self.outputs.append((f"worker process {process.args}", process.output()))

    def message_bodies(self) -> list[str]:
        """Messages seen in this process, plus whatever the broker still holds (queues, dead letters)."""
        bodies = list(self.recorder.bodies)
        stub_queues = getattr(self.broker, "queues", None)
        if isinstance(stub_queues, dict):
            for pending in stub_queues.values():
                bodies.extend(item.decode() if isinstance(item, bytes) else str(item) for item in list(pending.queue))
            for dead in getattr(self.broker, "dead_letters", []):
                bodies.append(dead.encode().decode())
        for broker in [self.broker, *self.extra_brokers]:
            client = getattr(broker, "client", None)
            if client is None:
                continue
            # Redis: every stored payload, queued, in flight or dead-lettered.
            for key in client.scan_iter(match=f"{broker.namespace}:*"):  # type: ignore[attr-defined]
                if client.type(key) == b"hash":
                    bodies.extend(value.decode() for value in client.hvals(key))
        return bodies


def wait_for(predicate: Callable[[], object], *, timeout: float = 30.0, what: str = "the condition") -> None:
    """Poll until ``predicate()`` is truthy; fail (never hang) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# Processes

RUNDRAMATIQ = ["manage.py", "rundramatiq"]


def pool_args(*queues: str, threads: int = 1) -> list[str]:
    """``rundramatiq`` arguments of a one-process pool on these queues."""
    return ["--processes", "1", "--threads", str(threads), "--queues", *queues]


def pool_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A Dramatiq pool's environment: its metrics server on a free port, its own metrics dir."""
    metrics = tmp_path / "prometheus"
    metrics.mkdir(exist_ok=True)
    return {"dramatiq_prom_port": "0", "dramatiq_prom_db": str(metrics), **extra}


def database_url() -> str:
    """The test database, as a DATABASE_URL a subprocess can use."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """A worker process on the test's database and venue, in its own process group.

    By default ``python -m tests.copytrading.reliability.worker <args>``; with ``command``, that
    command (e.g. ``manage.py rundramatiq …``: a real Dramatiq worker pool).
    """

    def __init__(
        self,
        args: list[str],
        *,
        venue_url: str,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        base |= {
            "DATABASE_URL": database_url(),
            "POLYMARKET_CLOB_URL": venue_url,
            "POLYMARKET_DATA_URL": venue_url,
            "LOG_LEVEL": "DEBUG",
        }
        self.args = args
        self.popen = subprocess.Popen(
            [sys.executable, *(command or ["-m", "tests.copytrading.reliability.worker"]), *args],
            cwd=ROOT,
            env=base | (env or {}),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        self._lines: queue.Queue[str] = queue.Queue()
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.popen.stdout, self._stdout, True), daemon=True),
            threading.Thread(target=self._read, args=(self.popen.stderr, self._stderr, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def wait_output(self, text: str, *, timeout: float = 60.0) -> None:
        """Wait until ``text`` appears anywhere in the process's output (logs included)."""
        wait_for(lambda: text in self.output(), timeout=timeout, what=f"{text!r} from {self.args}")

    def kill_group(self) -> None:
        """SIGKILL the process and every process it started (a worker pool and its children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def _read(self, stream: Any, sink: list[str], announce: bool) -> None:
        for line in iter(stream.readline, ""):
            sink.append(line)
            if announce:
                self._lines.put(line.rstrip("\n"))

    def expect(self, prefix: str, *, timeout: float = 60.0) -> str:
        """Wait for the next stdout line starting with ``prefix``; returns the rest of it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"worker {self.args} never said {prefix!r}; stderr:\n{self.stderr()}")
            try:
                line = self._lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if self.popen.poll() is not None and self._lines.empty():
                    self._join()
                    if self._lines.empty():
                        raise AssertionError(
                            f"worker {self.args} exited ({self.popen.returncode}) before {prefix!r}:\n{self.stderr()}"
                        ) from None
                continue
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def wait_stopped(self, *, timeout: float = 30.0) -> None:
        """Wait until the process is in the stopped state (it SIGSTOPped itself)."""

        def stopped() -> bool:
            try:
                state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                return False
            return state in ("T", "t")

        wait_for(stopped, timeout=timeout, what=f"worker {self.pid} to stop")

    def go(self) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write("go\n")
        self.popen.stdin.flush()

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def wait(self, *, timeout: float = 60.0) -> int:
        code = self.popen.wait(timeout=timeout)
        self._join()
        return code

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)

    def stderr(self) -> str:
        return "".join(self._stderr)

    def output(self) -> str:
        return "".join(self._stdout) + "".join(self._stderr)

    def close(self) -> None:
        self.kill_group()
        self.wait(timeout=30)
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()


# Accounts, follows, trades


def private_key(n: int) -> str:
    """A deterministic test key (never funded anywhere): sha256 of a label."""
    return "0x" + hashlib.sha256(f"polyhunter reliability test key {n}".encode()).hexdigest()


def speed_account(venue: Venue, *, n: int, pusd: str = "1000", shares: dict[str, str] | None = None) -> TradingAccount:
    """A speed account set up through the custody service; credentials derived from the venue (L1)."""
    account = make_account()
    custody_set_speed(
        account=account,
        private_key=private_key(n),
        funder_address="",
        signature_type=0,
        api_credentials=None,
        actor="test",
    )
    account.refresh_from_db()
    venue.sim.set_balance(account.signer_address, pusd=pusd, shares=shares or {})
    return account


def owner_key(n: int) -> str:
    """A deposit-wallet owner's key: the follower's own, used only to play the follower here."""
    return "0x" + hashlib.sha256(f"polyhunter reliability deposit wallet owner {n}".encode()).hexdigest()


def session_account(
    venue: Venue, *, n: int, pusd: str = "1000", shares: dict[str, str] | None = None
) -> TradingAccount:
    """A session account set up through the custody services: the owner address in, the owner
    authorises the session signer with the official SDK at the venue, the platform verifies it."""
    from eth_account import Account

    from execution.session_custody import custody_set_session, session_status, session_verify
    from tests.follower_side import authorise

    owner = Account.from_key(owner_key(n)).address
    account = custody_set_session(account=make_account(), owner_address=owner, actor="test")
    status = session_status(account)
    assert status is not None
    authorise(venue.sim.url, owner_key(n), status.signer_address)
    account = session_verify(account=account, actor="test")
    venue.sim.set_balance(account.funder_address, pusd=pusd, shares=shares or {})
    return account


def follow(account: TradingAccount, leader: WatchedWallet | None = None, **fields: Any) -> CopyRelationship:
    fields.setdefault("sizing_value", Decimal(10))
    return make_relationship(account=account, leader=leader or make_leader(), **fields)


def leader_buy(leader: WatchedWallet, **fields: Any) -> LeaderTrade:
    fields.setdefault("price", Decimal("0.56"))
    return make_leader_trade(leader=leader, **fields)


def limits(**values: Any) -> GuardrailSettings:
    GuardrailSettings.current()
    GuardrailSettings.objects.filter(id=GuardrailSettings.SINGLETON_ID).update(**values)
    return GuardrailSettings.current()


def rows_of(trade: LeaderTrade | Iterable[LeaderTrade]) -> list[CopyTrade]:
    trades = [trade] if isinstance(trade, LeaderTrade) else list(trade)
    return list(CopyTrade.objects.filter(leader_trade__in=trades).order_by("id"))


def fresh(row: CopyTrade) -> CopyTrade:
    row.refresh_from_db()
    return row


# The reconciler on an explicit clock


def ready_at(row: CopyTrade) -> datetime:
    """When the periodic reconciler will next act on this row: due, and no live lease on it."""
    due = row.next_check_at or timezone.now()
    if row.lease_until is not None:
        due = max(due, row.lease_until + timedelta(milliseconds=1))
    return due


def reconcile_until_settled(
    deployment: Deployment,
    *,
    venue: Venue | None = None,
    confirm: bool = True,
    rounds: int = 12,
    start: datetime | None = None,
) -> datetime:
    """Run the periodic reconciler (``reconcile_due``) as its schedule would, on a clock that jumps
    to the moment every waiting row is due, until no row of the deployment awaits the venue or settles.

    With ``confirm``, the venue's trades are confirmed on chain between rounds (settlement is
    manual in these scenarios). Returns the clock's last reading.
    """
    now = start or timezone.now()
    for _ in range(rounds):
        waiting = list(CopyTrade.objects.filter(deployment=deployment, status__in=OPEN))
        if not waiting:
            return now
        if confirm and venue is not None:
            venue.sim.advance_trades(to="CONFIRMED")
        now = max(now, *(ready_at(row) for row in waiting))
        reconcile_due(deployment=deployment, now=now)
    return now


def reconcile_once(deployment: Deployment, *, at: datetime) -> int:
    return reconcile_due(deployment=deployment, now=at)


MONEY = Decimal("0.000001")


def pending_copy(venue: Venue, deployment: Deployment, *, n: int = 1, **follow_fields: Any) -> CopyTrade:
    """One follow of a fresh leader by a fresh speed account, and one leader BUY fanned out (PENDING)."""
    from copytrading.fanout import fanout_leader_trade

    trade_fields = follow_fields.pop("trade", {})
    relationship = follow(speed_account(venue, n=n), **follow_fields)
    trade = leader_buy(relationship.leader, **trade_fields)
    (row_id,) = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment).pending_ids
    return CopyTrade.objects.get(id=row_id)


def execute(deployment: Deployment, *rows: CopyTrade) -> list[CopyTrade]:
    """The execute step (what the actor runs) for these rows; returns them re-read."""
    from copytrading.pipeline.execute import copytrades_execute

    copytrades_execute(ids=[row.id for row in rows], deployment=deployment)
    return [fresh(row) for row in rows]
