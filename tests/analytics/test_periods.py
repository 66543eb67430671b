"""Weeks run Monday through Sunday (ISO, UTC) and months are calendar months; a period is complete once over."""

from __future__ import annotations

from datetime import date

import pytest

from dockyard.analytics.periods import Period, months_back, touching


def test_a_sunday_belongs_to_the_week_that_began_on_monday() -> None:
    sunday, monday = date(2024, 3, 10), date(2024, 3, 11)
    assert Period.week_of(sunday) == Period("weeks", date(2024, 3, 4))
    assert Period.week_of(monday) == Period("weeks", monday)
    assert Period.week_of(sunday).end == monday and Period.week_of(sunday).last_day == sunday


def test_a_week_across_new_year_is_named_by_its_iso_year() -> None:
    week = Period.week_of(date(2025, 1, 1))
    assert week.start == date(2024, 12, 30) and week.last_day == date(2025, 1, 5)
    assert (week.year, week.number, week.label) == (2025, 1, "2025-W01")
    assert Period.numbered("weeks", 2025, 1) == week
    # ...and it touches two months, of two years.
    assert {p for p in touching(week.days()) if p.timespan == "months"} == {
        Period("months", date(2024, 12, 1)),
        Period("months", date(2025, 1, 1)),
    }


def test_week_53_exists_only_in_long_iso_years() -> None:
    assert Period.numbered("weeks", 2020, 53).start == date(2020, 12, 28)
    with pytest.raises(ValueError):
        Period.numbered("weeks", 2021, 53)


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2024, 1, 1), date(2024, 2, 1)), (date(2024, 2, 1), date(2024, 3, 1)), (date(2024, 12, 1), date(2025, 1, 1))],
)
def test_months_end_on_the_first_of_the_next(start: date, end: date) -> None:
    month = Period.month_of(start.replace(day=15) if start.month != 2 else date(2024, 2, 29))
    assert (month.start, month.end) == (start, end)
    assert (month.year, month.number) == (start.year, start.month)


def test_a_period_is_complete_once_it_is_over() -> None:
    month = Period.month_of(date(2024, 1, 31))
    assert not month.complete(date(2024, 1, 31))
    assert month.complete(date(2024, 2, 1))  # monthly data is available on the first of the next month
    week = Period.week_of(date(2024, 3, 10))
    assert not week.complete(date(2024, 3, 10)) and week.complete(date(2024, 3, 11))


def test_the_last_months_count_the_current_one() -> None:
    assert months_back(date(2024, 3, 15), 3) == date(2024, 1, 1)
    assert months_back(date(2024, 2, 29), 12) == date(2023, 3, 1)
    assert months_back(date(2024, 1, 1), 2) == date(2023, 12, 1)


def test_a_label_names_its_period_and_nothing_else_parses() -> None:
    for period in (
        Period.numbered("weeks", 2025, 1),
        Period.numbered("weeks", 2020, 53),
        Period.month_of(date(2024, 3, 9)),
    ):
        assert Period.from_label(period.label) == period
    for wrong in ("", "2024", "2024-13", "2024-W54", "2021-W53", "March", "2024-03-01"):
        with pytest.raises(ValueError):
            Period.from_label(wrong)
