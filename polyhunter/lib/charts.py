"""Server-rendered line charts: the numbers of an SVG polyline, drawn by a template (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from polyhunter.lib.money import format_usd

ONE_DP = Decimal("0.1")
CENT = Decimal("0.01")
# Smallest value range drawn: a curve moving by a fraction of a cent must not fill the whole box.
MIN_SPAN = Decimal(1)


@dataclass(frozen=True)
class Tick:
    position: Decimal
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    points: str  # "x,y x,y …" for <polyline points=…>
    zero_y: Decimal
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    last_value: Decimal
    rising: bool


def line_chart(
    series: list[tuple[datetime, Decimal]], *, width: int = 640, height: int = 200, pad: int = 40
) -> LineChart | None:
    """Scale a time series into a ``width`` x ``height`` box; None when there is nothing to draw."""
    if not series:
        return None
    times = [at.timestamp() for at, _ in series]
    values = [value for _, value in series]
    t0, t1 = Decimal(str(min(times))), Decimal(str(max(times)))
    low, high = min([*values, Decimal(0)]), max([*values, Decimal(0)])
    if high - low < MIN_SPAN:
        middle = (high + low) / 2
        low, high = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
    span_t = (t1 - t0) or Decimal(1)
    inner_w, inner_h = Decimal(width - 2 * pad), Decimal(height - 2 * pad)

    def x(at: datetime) -> Decimal:
        return (pad + (Decimal(str(at.timestamp())) - t0) / span_t * inner_w).quantize(ONE_DP)

    # Shown in cents: a curve ending a fraction of a cent below zero reads 0.00, not red -0.00.
    last = values[-1].quantize(CENT) + 0

    def y(value: Decimal) -> Decimal:
        return (pad + (high - value) / (high - low) * inner_h).quantize(ONE_DP)

    return LineChart(
        width=width,
        height=height,
        points=" ".join(f"{x(at)},{y(value)}" for at, value in series),
        zero_y=y(Decimal(0)),
        y_ticks=[Tick(y(v), format_usd(v, signed=True)) for v in (high, low)],
        x_ticks=[Tick(x(at), at.strftime("%d %b %H:%M")) for at in (series[0][0], series[-1][0])],
        last_value=last,
        rising=last >= 0,
    )
