"""The model-v2 trial panel: every published target, its source, its band and its weight.

Targets are what the calibration fits (`PANEL`, on train patients) and what `tme validate`
reports (on validation patients). Checks that are not fitted, against figures of the same
papers the fit did not use, are `CHECKS`: reported as found. Each figure was read in the cited
source (abstract or table); where the issue's figure differed from the paper's, the paper's is
used and the note says so.

Bands (issue 27): a hazard ratio within +/- 0.10, a median within +/- 20%, a landmark survival
rate within +/- 5 points, a response rate within +/- 10 points. Weights are trial sizes
(patients randomised), so that a target of a larger trial counts more.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHECKS", "LANDMARK_MONTHS", "PANEL", "Target", "band_of"]

#: OS landmarks the report gives for every arm (months).
LANDMARK_MONTHS = (3, 6, 12, 24, 60)

_KN189_UPD = "Gadgeel et al., J Clin Oncol 2020 (KEYNOTE-189 updated analysis), abstract"
_KN189_FIRST = "Gandhi et al., N Engl J Med 2018 (KEYNOTE-189), abstract and Table 2"
_KN189_5Y = "Garassino et al., J Clin Oncol 2023 (KEYNOTE-189 5-year update), abstract"
_KN024_5Y = "Reck et al., J Clin Oncol 2021 (KEYNOTE-024 5-year update), abstract"
_FDA50 = (
    "Akinboro et al., ASCO 2022 abstract 9000 (FDA pooled analysis, TPS >= 50%, 12 trials; "
    "chemo-IO n = 455, IO n = 1,298)"
)
_FDA149 = "Akinboro et al., ASCO 2021 abstract 9001 (FDA pooled analysis, TPS 1-49%, 8 trials)"


@dataclass(frozen=True)
class Target:
    """One published figure the model is compared with.

    Attributes:
        key: Unique id (``trial/arm-or-contrast/stratum/figure``).
        trial: Trial or analysis name.
        arm: An arm of `tme_env.validation.arms.PANEL_ARMS`, or a contrast ``"a vs b"``.
        stratum: ``"all"`` or a PD-L1 TPS stratum (``"<1%"``, ``"1-49%"``, ``">=50%"``).
        figure: ``os_median``, ``pfs_median`` (months), ``os_hr``, ``pfs_hr``, ``orr`` (%),
            ``os_at_<m>`` (% alive at month m), ``os_after_cap_36`` (% alive 3 years after
            completing 35 anti-PD-1 doses).
        published: The published value.
        ci: Its published 95% CI ``(low, high)`` where given (hazard ratios), else None.
        source: Paper and table.
        weight: Patients in the trial or analysis (the fit's weight).
        note: Anything the reader should know about the figure.
    """

    key: str
    trial: str
    arm: str
    stratum: str
    figure: str
    published: float
    ci: tuple[float, float] | None
    source: str
    weight: float
    note: str = ""


def band_of(target: Target) -> tuple[float, float]:
    """The issue's band around a target's published value."""
    v = target.published
    if target.figure.endswith("_hr"):
        return v - 0.10, v + 0.10
    if target.figure.endswith("_median"):
        return 0.8 * v, 1.2 * v
    if target.figure.startswith("os_at_") or target.figure == "os_after_cap_36":
        return v - 5.0, v + 5.0
    return v - 10.0, v + 10.0


def _t(trial, arm, stratum, figure, value, source, weight, ci=None, note=""):  # noqa: ANN001, ANN202 - a table row
    key = f"{trial}/{arm}/{stratum}/{figure}"
    return Target(key, trial, arm, stratum, figure, value, ci, source, weight, note)


_N189, _N024, _N50, _N149 = 616.0, 305.0, 1753.0, 1000.0
_C189 = "chemo-pembro vs kn189-chemo"
_C024 = "pembro vs kn024-chemo"
_CFDA = "chemo-pembro vs pembro"

#: The fitted panel (issue 27 item 4).
PANEL: tuple[Target, ...] = (
    # KEYNOTE-189, all-comers.
    _t("KEYNOTE-189", "chemo-pembro", "all", "os_median", 22.0, _KN189_UPD, _N189),
    _t("KEYNOTE-189", "kn189-chemo", "all", "os_median", 10.7, _KN189_UPD, _N189,
       note="10.6 in the 5-year update; the control arm includes crossover (57.4%)"),
    _t("KEYNOTE-189", _C189, "all", "os_hr", 0.56, _KN189_UPD, _N189, ci=(0.45, 0.70)),
    _t("KEYNOTE-189", "chemo-pembro", "all", "pfs_median", 9.0, _KN189_UPD, _N189),
    _t("KEYNOTE-189", "kn189-chemo", "all", "pfs_median", 4.9, _KN189_UPD, _N189),
    _t("KEYNOTE-189", _C189, "all", "pfs_hr", 0.48, _KN189_UPD, _N189, ci=(0.40, 0.58)),
    _t("KEYNOTE-189", "chemo-pembro", "all", "os_at_60", 19.4, _KN189_5Y, _N189),
    _t("KEYNOTE-189", "kn189-chemo", "all", "os_at_60", 11.3, _KN189_5Y, _N189),
    _t("KEYNOTE-189", "chemo-pembro", "all", "orr", 47.6, _KN189_FIRST, _N189),
    _t("KEYNOTE-189", "kn189-chemo", "all", "orr", 18.9, _KN189_FIRST, _N189),
    _t("KEYNOTE-189", "chemo-pembro", "all", "os_at_12", 69.2, _KN189_FIRST, _N189),
    _t("KEYNOTE-189", "kn189-chemo", "all", "os_at_12", 49.4, _KN189_FIRST, _N189),
    # KEYNOTE-189 by PD-L1 stratum (updated analysis).
    _t("KEYNOTE-189", _C189, "<1%", "os_hr", 0.52, _KN189_UPD, _N189 * 0.31, ci=(0.36, 0.74)),
    _t("KEYNOTE-189", _C189, "1-49%", "os_hr", 0.62, _KN189_UPD, _N189 * 0.30,
       ci=(0.42, 0.92)),
    _t("KEYNOTE-189", _C189, ">=50%", "os_hr", 0.59, _KN189_UPD, _N189 * 0.33,
       ci=(0.40, 0.86)),
    # KEYNOTE-189 completers of 35 pembrolizumab cycles (the no-cliff check of item 5).
    _t("KEYNOTE-189", "chemo-pembro", "all", "os_after_cap_36", 71.9, _KN189_5Y, _N189,
       note="3-year OS after completing 35 cycles (57 completers); weighted as KEYNOTE-189, "
       "since it is the named trial's no-cliff figure (issue 27 item 5)"),
    # KEYNOTE-024, TPS >= 50%: pembrolizumab vs chemotherapy (66.0% effective crossover).
    _t("KEYNOTE-024", _C024, ">=50%", "os_hr", 0.62, _KN024_5Y, _N024, ci=(0.48, 0.81)),
    _t("KEYNOTE-024", "pembro", ">=50%", "os_median", 26.3, _KN024_5Y, _N024),
    _t("KEYNOTE-024", "kn024-chemo", ">=50%", "os_median", 13.4, _KN024_5Y, _N024),
    _t("KEYNOTE-024", "pembro", ">=50%", "os_at_60", 31.9, _KN024_5Y, _N024),
    _t("KEYNOTE-024", "kn024-chemo", ">=50%", "os_at_60", 16.3, _KN024_5Y, _N024),
    # FDA pooled analyses, chemo-immunotherapy vs immunotherapy alone (no crossover).
    _t("FDA pooled", _CFDA, ">=50%", "os_hr", 0.82, _FDA50, _N50, ci=(0.62, 1.08)),
    _t("FDA pooled", "chemo-pembro", ">=50%", "os_median", 25.0, _FDA50, _N50),
    _t("FDA pooled", "pembro", ">=50%", "os_median", 20.9, _FDA50, _N50),
    _t("FDA pooled", _CFDA, ">=50%", "pfs_hr", 0.69, _FDA50, _N50, ci=(0.55, 0.87)),
    _t("FDA pooled", "chemo-pembro", ">=50%", "orr", 61.0, _FDA50, _N50),
    _t("FDA pooled", "pembro", ">=50%", "orr", 43.0, _FDA50, _N50),
    _t("FDA pooled", "chemo-pembro", "1-49%", "os_median", 21.4, _FDA149, _N149),
    _t("FDA pooled", "pembro", "1-49%", "os_median", 14.5, _FDA149, _N149),
    _t("FDA pooled", "chemo-pembro", "1-49%", "pfs_median", 7.7, _FDA149, _N149),
    _t("FDA pooled", "pembro", "1-49%", "pfs_median", 4.2, _FDA149, _N149),
)  # fmt: skip

#: Not fitted: reported as found.
CHECKS: tuple[Target, ...] = (
    _t("KEYNOTE-024", "pembro", ">=50%", "pfs_median", 10.3,
       "Reck et al., N Engl J Med 2016 (KEYNOTE-024), abstract", _N024),
    _t("KEYNOTE-024", "kn024-chemo", ">=50%", "pfs_median", 6.0,
       "Reck et al., N Engl J Med 2016 (KEYNOTE-024), abstract", _N024),
    _t("KEYNOTE-024", "pembro", ">=50%", "orr", 44.8,
       "Reck et al., N Engl J Med 2016 (KEYNOTE-024), abstract", _N024),
    _t("KEYNOTE-024", "kn024-chemo", ">=50%", "orr", 27.8,
       "Reck et al., N Engl J Med 2016 (KEYNOTE-024), abstract", _N024),
    _t("untreated", "no-treatment", "all", "os_at_60", 0.0,
       "untreated metastatic NSCLC: almost no 5-year survivors (issue 27 item 5)", 0.0,
       note="band +/- 5 points; a shape check"),
)  # fmt: skip
