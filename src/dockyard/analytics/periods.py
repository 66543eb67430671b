"""Summary and export periods: ISO weeks (Monday through Sunday) and calendar months, in UTC.

A week is named by its ISO year and number (2024-12-30 .. 2025-01-05 is week 1 of 2025), a month by its calendar
year and number. A period is complete, and can be exported, once it is over: a week on the Monday after it, a
month on the first day of the next (as Docker makes monthly data available).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

EPOCH = datetime(1970, 1, 1)
_LABEL = re.compile(r"(\d{4})-(W?)(\d{1,2})")


def utc_today() -> date:
    """Today in UTC, from which complete periods and "the last N months" are reckoned. Callers look it up through
    this module at every use, so that tests can pin it: a run that crosses midnight must not see two days."""
    return datetime.now(UTC).date()


ONE_MICROSECOND = timedelta(microseconds=1)

Timespan = Literal["months", "weeks"]
TIMESPANS: tuple[Timespan, ...] = ("months", "weeks")


def micros(value: datetime) -> int:
    """Microseconds since the Unix epoch, exactly, of a UTC datetime: naive (the segments' `ts`) or aware (the
    times of imported events)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value - EPOCH) // ONE_MICROSECOND


@dataclass(frozen=True, order=True)
class Period:
    timespan: Timespan
    start: date

    @classmethod
    def week_of(cls, day: date) -> Period:
        return cls("weeks", day - timedelta(days=day.weekday()))

    @classmethod
    def month_of(cls, day: date) -> Period:
        return cls("months", day.replace(day=1))

    @classmethod
    def of(cls, timespan: Timespan, day: date) -> Period:
        return cls.week_of(day) if timespan == "weeks" else cls.month_of(day)

    @classmethod
    def numbered(cls, timespan: Timespan, year: int, number: int) -> Period:
        """The period `number` of `year` (ISO week-numbering year for weeks); ValueError when there is none."""
        if timespan == "weeks":
            return cls("weeks", date.fromisocalendar(year, number, 1))
        return cls("months", date(year, number, 1))

    @property
    def end(self) -> date:
        """The first day after the period."""
        if self.timespan == "weeks":
            return self.start + timedelta(days=7)
        return (self.start.replace(day=28) + timedelta(days=4)).replace(day=1)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def year(self) -> int:
        return self.start.isocalendar().year if self.timespan == "weeks" else self.start.year

    @property
    def number(self) -> int:
        return self.start.isocalendar().week if self.timespan == "weeks" else self.start.month

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}" if self.timespan == "weeks" else f"{self.year}-{self.number:02d}"

    @classmethod
    def from_label(cls, label: str) -> Period:
        """The period a `label` names (2024-W10, 2024-03); ValueError for anything else."""
        found = _LABEL.fullmatch(label)
        if found is None:
            raise ValueError(f"not a week (2024-W10) or a month (2024-03): {label!r}")
        return cls.numbered("weeks" if found[2] else "months", int(found[1]), int(found[3]))

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]

    def complete(self, as_of: date) -> bool:
        """Whether the period is over on `as_of` (a UTC date)."""
        return as_of >= self.end


def touching(days: Iterable[date]) -> set[Period]:
    """The weeks and months that contain any of these days."""
    found: set[Period] = set()
    for day in days:
        found.add(Period.week_of(day))
        found.add(Period.month_of(day))
    return found


def months_back(today: date, count: int) -> date:
    """The first day of the month `count - 1` months before `today`'s: the start of "the last `count` months"
    counting the current one."""
    month_index = today.year * 12 + today.month - 1 - (count - 1)
    return date(month_index // 12, month_index % 12 + 1, 1)
