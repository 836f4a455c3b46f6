"""Market names: the question and outcome behind a token, wherever a token appears.

Pages read names from the MarketLabel table only (no venue call while rendering); tokens not
named yet are asked of the venue in the background (``refresh_market_labels``, at most once a
minute per token) and show a shortened id meanwhile. Data API rows, which carry the title and
outcome, name their tokens as they are read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from copytrading.models import MarketLabel
from execution.venue.errors import VenueError
from execution.venue.gateway import VenueGateway, default_gateway
from execution.venue.orders import FeeSchedule
from polyhunter.broker import send_to_queue

log = logging.getLogger(__name__)
ASK_AGAIN_SECONDS = 60


@dataclass(frozen=True)
class MarketName:
    token_id: str
    title: str
    outcome: str
    tick: Decimal | None
    condition_id: str = ""
    fees: FeeSchedule | None = None  # None: not known yet

    @property
    def known(self) -> bool:
        return bool(self.title)

    @property
    def short_token(self) -> str:
        token = self.token_id
        return f"{token[:6]}…{token[-4:]}" if len(token) > 12 else token

    def __str__(self) -> str:
        if not self.title:
            return f"market of token {self.short_token}"
        return f"{self.title} — {self.outcome}" if self.outcome else self.title


def market_names(token_ids: Iterable[str], *, ask_venue: bool = True) -> dict[str, MarketName]:
    """Names of these tokens from the cache table; the missing ones are asked of the venue in the
    background (when ``ask_venue``) and come back unnamed this time."""
    wanted = {token for token in token_ids if token}
    found = {label.token_id: _name(label) for label in MarketLabel.objects.filter(token_id__in=wanted)}
    missing = sorted(wanted - found.keys())
    if missing and ask_venue:
        _ask_venue(missing)
    return found | {token: MarketName(token, "", "", None) for token in missing}


def _name(label: MarketLabel) -> MarketName:
    tick = Decimal(label.tick_size) if label.tick_size is not None else None
    fees = None
    if label.fee_rate is not None:
        fees = FeeSchedule(rate=Decimal(label.fee_rate), exponent=Decimal(label.fee_exponent or 1))
    return MarketName(label.token_id, label.title, label.outcome, tick, label.condition_id, fees)


# Sent by name: copytrading.tasks declares the actor and imports this module (no import loop).
REFRESH_MARKET_LABELS_ACTOR = "refresh_market_labels"


def _ask_venue(tokens: list[str]) -> None:
    # cache.add is atomic: one request per token per minute, however many pages render it.
    due = [token for token in tokens if cache.add(f"market-label:asked:{token}", 1, ASK_AGAIN_SECONDS)]
    if due:
        send_to_queue(REFRESH_MARKET_LABELS_ACTOR, "platform", due)


def market_labels_refresh(*, token_ids: list[str], gateway: VenueGateway | None = None) -> int:
    """Ask the venue for each token's market question, outcome, tick and fee curve and store them;
    returns how many were named. A venue that does not answer leaves the token for the next ask."""
    gateway = gateway or default_gateway()
    labels = []
    now = timezone.now()
    for token in dict.fromkeys(token_ids):
        try:
            title, info = gateway.market_title(token), gateway.market_info(token)
        except VenueError as exc:
            log.info("market name of token %s not available: %s", token, exc.detail)
            continue
        labels.append(
            MarketLabel(
                token_id=token,
                condition_id=title.condition_id,
                title=title.question,
                outcome=title.outcome_of(token),
                slug=title.slug,
                tick_size=info.tick_size,
                fee_rate=info.fees.rate,
                fee_exponent=info.fees.exponent,
                source=MarketLabel.Source.VENUE,
                fetched_at=now,
            )
        )
    fields = ["condition_id", "title", "outcome", "slug", "tick_size", "fee_rate", "fee_exponent", "source"]
    _upsert(labels, fields=[*fields, "fetched_at"])
    return len(labels)


def market_labels_remember(*, rows: Iterable[Mapping[str, Any]]) -> int:
    """Name the tokens of Data API rows (``asset``, ``conditionId``, ``title``, ``outcome``) that
    have no name yet; the venue's own answer, when stored, is kept."""
    now = timezone.now()
    labels: dict[str, MarketLabel] = {}
    for row in rows:
        token, title = str(row.get("asset") or ""), str(row.get("title") or "")
        if token.isdigit() and title and token not in labels:
            labels[token] = MarketLabel(
                token_id=token,
                condition_id=str(row.get("conditionId") or "").lower()[:66],
                title=title[:300],
                outcome=str(row.get("outcome") or "")[:80],
                slug=str(row.get("slug") or "")[:200],
                source=MarketLabel.Source.DATA_API,
                fetched_at=now,
            )
    known = set(MarketLabel.objects.filter(token_id__in=labels).values_list("token_id", flat=True))
    fresh = [label for token, label in labels.items() if token not in known]
    MarketLabel.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def _upsert(labels: list[MarketLabel], *, fields: list[str]) -> None:
    if labels:
        MarketLabel.objects.bulk_create(labels, update_conflicts=True, unique_fields=["token_id"], update_fields=fields)
