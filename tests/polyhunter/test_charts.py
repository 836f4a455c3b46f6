from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from polyhunter.lib.charts import line_chart

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_nothing_to_draw_is_no_chart() -> None:
    assert line_chart([]) is None


def test_points_are_scaled_into_the_box_with_zero_inside_the_range() -> None:
    chart = line_chart([(T0, Decimal(-5)), (T0 + timedelta(hours=1), Decimal(15))], width=640, height=200, pad=40)
    assert chart is not None
    assert chart.points == "40.0,160.0 600.0,40.0"
    assert chart.zero_y == Decimal("130.0")
    assert [t.label for t in chart.y_ticks] == ["+$15.00", "\u2212$5.00"]  # a true minus sign
    assert chart.rising


def test_a_curve_moving_by_a_fraction_of_a_cent_is_drawn_flat_in_the_middle() -> None:
    chart = line_chart([(T0, Decimal("-0.0000003")), (T0 + timedelta(minutes=1), Decimal("-0.0000003"))])
    assert chart is not None
    ys = {point.split(",")[1] for point in chart.points.split()}
    assert ys == {"100.0"}
    assert chart.zero_y == Decimal("100.0")
    assert str(chart.last_value) == "0.00"
    assert chart.rising
