"""The string codes of the regimens, as enums: what a regimen or a fixed schedule gives, and when.

* `ChemoPlan` and `AntiPD1Plan`: the ``chemo`` and ``anti_pd1`` fields of a standard regimen
  (`tme_env.regimens.policies.RegimenSpec`);
* `AntiPD1Interval` and `InhibitorTiming`: the ``anti_pd1`` and ``inhibitor`` fields of a
  member of the fixed-schedule family (`tme_env.regimens.family.FixedSchedule`).

Each member is also its string (`StrCode`, as Python 3.11's ``enum.StrEnum``, which the
package's Python 3.10 floor rules out): it compares and hashes equal to its value, and prints,
formats, reprs and serialises to JSON as it, so ``FixedSchedule(anti_pd1="q3w")`` and the
committed JSON that holds ``"q3w"`` work as they did, and names and reports read the same.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["AntiPD1Interval", "AntiPD1Plan", "ChemoPlan", "InhibitorTiming", "StrCode"]


class StrCode(str, Enum):
    """A string code: equal to, and printed, formatted and serialised as, its value."""

    def __str__(self) -> str:
        """The value (``str.__str__``; a ``(str, Enum)`` prints its name on Python 3.11+)."""
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        """The value, formatted as a string (in f-strings and ``str.format``)."""
        return str.__format__(str.__str__(self), format_spec)

    def __repr__(self) -> str:
        """The value's repr (``'q3w'``): dataclass reprs read as they did with plain strings."""
        return repr(str.__str__(self))


class ChemoPlan(StrCode):
    """The chemotherapy of a standard regimen (`tme_env.regimens.policies.Regimen.decide`)."""

    #: No chemotherapy.
    NONE = "none"
    #: The platinum doublet at full dose q3w for the induction cycles, then maintenance q3w.
    MTD = "mtd"
    #: The induction cycles only (no maintenance).
    INDUCTION = "induction"
    #: A quarter of the full dose every decision interval.
    METRONOMIC = "metronomic"
    #: Full dose q3w, paused while the burden is below half its baseline (AT50).
    ADAPTIVE = "adaptive"


class AntiPD1Plan(StrCode):
    """When a standard regimen gives anti-PD-1 (q3w, up to the label's dose cap)."""

    #: No anti-PD-1.
    NONE = "none"
    #: From day 1, with the chemotherapy.
    CONCURRENT = "concurrent"
    #: From one cycle after the last induction dose.
    AFTER_INDUCTION = "after-induction"
    #: From day 1 (no chemotherapy cycle to follow).
    Q3W = "q3w"


class AntiPD1Interval(StrCode):
    """How often a fixed schedule gives anti-PD-1 (`AntiPD1Interval.days`)."""

    WEEKLY = "weekly"
    Q3W = "q3w"
    Q6W = "q6w"
    NONE = "none"

    @property
    def days(self) -> float:
        """Days between doses (``inf`` for ``none``)."""
        return _PD1_DAYS[self]


_PD1_DAYS = {AntiPD1Interval.WEEKLY: 7.0, AntiPD1Interval.Q3W: 21.0, AntiPD1Interval.Q6W: 42.0,
             AntiPD1Interval.NONE: float("inf")}  # fmt: skip


class InhibitorTiming(StrCode):
    """When a fixed schedule gives the suppressor-inhibitor."""

    #: Every day.
    CONTINUOUS = "continuous"
    #: The first two weeks of each chemotherapy cycle (maintenance cycles included).
    CHEMO_WEEKS = "chemo-weeks"
    #: Never.
    NONE = "none"
