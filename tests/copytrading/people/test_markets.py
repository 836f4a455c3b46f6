"""Market names: asked of the venue in the background, stored, and shown instead of token ids."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import dramatiq
import pytest
from django.core.cache import cache

from copytrading.markets import market_labels_refresh, market_labels_remember, market_names
from copytrading.models import MarketLabel
from execution.simulator import VenueSimulator

pytestmark = pytest.mark.django_db

FED_NO = "33507963070620649762144944331241609312903313601210934738148421620353685107636"
FED_TITLE = "No change in Fed interest rates after 2024 September meeting?"


def test_the_venue_names_a_token_with_its_question_outcome_tick_and_fees(tape_venue: VenueSimulator) -> None:
    assert market_labels_refresh(token_ids=[FED_NO]) == 1
    name = market_names([FED_NO], ask_venue=False)[FED_NO]
    assert (name.title, name.outcome, name.tick) == (FED_TITLE, "No", Decimal("0.001"))
    assert name.fees is not None
    assert name.fees.rate == Decimal("0.02")
    assert str(name) == f"{FED_TITLE} — No"


@pytest.mark.django_db(transaction=True)
def test_an_unnamed_token_reads_as_a_short_id_until_the_worker_has_asked_the_venue(
    tape_venue: VenueSimulator, worker: dramatiq.Worker
) -> None:
    first = market_names([FED_NO])[FED_NO]
    assert not first.known
    assert str(first) == "market of token 335079…7636"
    assert cache.get(f"market-label:asked:{FED_NO}") == 1  # page views within the minute ask nothing more
    worker.broker.join("platform", timeout=30_000)
    assert str(market_names([FED_NO])[FED_NO]) == f"{FED_TITLE} — No"


def test_data_api_rows_name_new_tokens_but_never_overwrite_the_venues_answer(tape_venue: VenueSimulator) -> None:
    market_labels_refresh(token_ids=[FED_NO])
    other = "1" * 77
    rows: list[dict[str, Any]] = [
        {"asset": FED_NO, "title": "something else", "outcome": "Yes"},
        {"asset": other, "conditionId": "0x" + "ab" * 32, "title": "Will it rain?", "outcome": "Yes"},
    ]
    assert market_labels_remember(rows=rows) == 1
    assert MarketLabel.objects.get(token_id=FED_NO).title == FED_TITLE
    assert str(market_names([other], ask_venue=False)[other]) == "Will it rain? — Yes"


def test_a_venue_that_does_not_answer_leaves_the_token_for_the_next_ask(tape_venue: VenueSimulator) -> None:
    tape_venue.add_fault("error_before", "*", count=None)
    assert market_labels_refresh(token_ids=[FED_NO]) == 0
    assert not MarketLabel.objects.exists()
