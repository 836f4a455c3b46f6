"""A flight recorder in the soak's own database: every change of a CopyTrade's status or order hash,
with the lease version that wrote it, timed by the database's clock.

It exists only in the soak's database (installed after ``migrate``, never a migration): the
platform neither reads nor knows it. From it the soak tells which rows ever changed order hash
(a re-signature: I1), which venue orders belonged to a row under an earlier hash, how long
outcomes stayed unknown, and whether a row was settled by the lease that sent it or recovered
by another (the reconciler).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

INSTALL = """
CREATE TABLE IF NOT EXISTS soak_transition (
    id bigserial PRIMARY KEY,
    copytrade_id bigint NOT NULL,
    old_status text NOT NULL,
    new_status text NOT NULL,
    old_version bigint NOT NULL,
    new_version bigint NOT NULL,
    old_hash text,
    new_hash text,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE OR REPLACE FUNCTION soak_trace() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO soak_transition (copytrade_id, old_status, new_status, old_version, new_version, old_hash, new_hash)
    VALUES (NEW.id, OLD.status, NEW.status, OLD.lease_version, NEW.lease_version, OLD.order_hash, NEW.order_hash);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS soak_trace ON copytrading_copytrade;
CREATE TRIGGER soak_trace AFTER UPDATE ON copytrading_copytrade FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.order_hash IS DISTINCT FROM NEW.order_hash)
    EXECUTE FUNCTION soak_trace();
"""

AWAITING = ("signed", "unknown")


def install() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(INSTALL)


@dataclass
class Transition:
    copytrade_id: int
    old_status: str
    new_status: str
    old_version: int
    new_version: int
    old_hash: str | None
    new_hash: str | None
    at: datetime


@dataclass
class Trace:
    """What the flight recorder says, per row."""

    rehashed: set[int] = field(default_factory=set)  # rows whose order hash changed once set
    hash_owner: dict[str, int] = field(default_factory=dict)  # every hash a row ever held -> row
    recovered: list[float] = field(default_factory=list)  # seconds from unknown to resolved
    unresolved: int = 0  # rows still awaiting the venue when the trace was read
    recovered_by_reconciler: int = 0
    transitions: int = 0


def read() -> Trace:
    from django.db import connection

    trace = Trace()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT copytrade_id, old_status, new_status, old_version, new_version, old_hash, new_hash, at"
            " FROM soak_transition ORDER BY copytrade_id, id"
        )
        rows = [Transition(*row) for row in cursor.fetchall()]
    trace.transitions = len(rows)
    current: int | None = None
    episode: _Episode | None = None
    for t in rows:
        if t.copytrade_id != current:
            if episode is not None and episode.open:
                trace.unresolved += 1
            current, episode = t.copytrade_id, _Episode()
        assert episode is not None
        for order_hash in (t.old_hash, t.new_hash):
            if order_hash:
                trace.hash_owner.setdefault(order_hash.lower(), t.copytrade_id)
        if t.old_hash and t.new_hash != t.old_hash:
            trace.rehashed.add(t.copytrade_id)
        episode.step(t, trace)
    if episode is not None and episode.open:
        trace.unresolved += 1
    return trace


@dataclass
class _Episode:
    """One row's way through SIGNED/UNKNOWN.

    An outcome is *unknown* from the moment the row became UNKNOWN (the venue's answer did not
    say), or — when the lease that signed it never recorded an answer (killed, timed out, told to
    retry later) — from the moment it was signed. It is *resolved* by the first move to any other
    status (the venue said found, rejected, canceled, or the row expired). Rows the signing lease
    itself answered are not recovery and are not timed.
    """

    signed_at: datetime | None = None
    signed_version: int = 0
    unknown_at: datetime | None = None
    open: bool = False

    def step(self, t: Transition, trace: Trace) -> None:
        if t.new_status == "signed" and t.old_status != "signed":
            self.signed_at, self.signed_version, self.open = t.at, t.new_version, True
            return
        if t.new_status == "unknown" and self.unknown_at is None:
            self.unknown_at, self.open = t.at, True
            return
        if not self.open or t.old_status not in AWAITING or t.new_status in AWAITING:
            return
        self.open = False
        by_another_lease = t.new_version > self.signed_version
        start = self.unknown_at or (self.signed_at if by_another_lease else None)
        if start is not None:
            trace.recovered.append((t.at - start).total_seconds())
            trace.recovered_by_reconciler += int(by_another_lease)
