"""Trial figures: Kaplan-Meier curves and a dose timeline, drawn the way clinicians read them.

* `plot_km`: one Kaplan-Meier curve per arm with censoring ticks, optional 95% confidence
  bands, a marker at each arm's median (on the 0.5 line; "not reached" in the legend when the
  curve stays above it), the numbers at risk in a table under the axis (one row per arm, its
  name in the arm's colour beside its counts, one column per time tick), up to 10 arms in
  distinct colours (more cycle line styles), and the legend outside the curves.
* `plot_dose_timeline`: a few patients per arm, one labelled row per patient, one marker per
  week and drug whose area is the dose, a colour key, and why each row ends (death, cure or the
  horizon) with the first progression marked.

Both functions draw on a new figure and return it; `save_figure` writes it atomically. They
need matplotlib and lifelines (both dependencies of the package) and import them lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import atomic_savefig
from tme_env.trials.outcomes import WEEK_DAYS, TrialResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["arm_colours", "plot_dose_timeline", "plot_km", "save_figure"]

#: The survival endpoints a KM plot can show, with their axis labels.
ENDPOINTS = {"os": "overall survival", "pfs": "progression-free survival"}
#: Drug colours of the dose timeline, in action order (chemo, anti-PD-1, inhibitor).
DRUG_COLOURS = ("tab:blue", "tab:green", "tab:purple")
DRUG_LABELS = ("chemotherapy", "anti-PD-1", "inhibitor")
#: Height of one arm's row in the numbers-at-risk table (inches).
ROW_INCHES = 0.2
#: Marker area (points^2) of a full dose in the dose timeline.
FULL_DOSE_AREA = 36.0


def arm_colours(n: int) -> list[tuple[tuple[float, ...], str]]:
    """Distinct ``(colour, line style)`` pairs for ``n`` arms.

    Up to 10 arms get the 10 colours of matplotlib's ``tab10`` map (chosen to be told apart,
    also in print); beyond that the colours repeat with a new line style every 10 arms.

    Raises:
        ValueError: If ``n`` is not positive.
    """
    if n < 1:
        raise ValueError(f"arm_colours needs at least one arm, got n={n}")
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    styles = ("-", "--", ":", "-.")
    return [(cmap(i % 10), styles[(i // 10) % len(styles)]) for i in range(n)]


def _median_label(median_days: float) -> str:
    if np.isfinite(median_days):
        return f"median {median_days / DAYS_PER_MONTH:.1f} mo"
    return "median not reached"


def plot_km(
    result: TrialResult,
    endpoint: str = "os",
    ci: bool = False,
    tick_months: float = 6.0,
) -> Figure:
    """Kaplan-Meier curves of every arm of a trial, with the numbers at risk below.

    Args:
        result: The trial.
        endpoint: ``"os"`` or ``"pfs"``.
        ci: Draw each curve's 95% confidence band (lifelines' exponential Greenwood).
        tick_months: Spacing of the time axis ticks, where the numbers at risk are counted.

    Returns:
        The figure (not saved; see `save_figure`).

    Raises:
        ValueError: On an unknown endpoint, a non-positive tick spacing or a trial without arms.
    """
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; valid: {', '.join(ENDPOINTS)}")
    if not tick_months > 0:
        raise ValueError(f"tick_months must be > 0 months, got {tick_months}")
    if not result.arms:
        raise ValueError("the trial has no arms to plot")
    import matplotlib.pyplot as plt
    from lifelines import KaplanMeierFitter

    arms = list(result.arms.values())
    horizon = result.horizon_days / DAYS_PER_MONTH
    colours = arm_colours(len(arms))
    table_h = ROW_INCHES * len(arms) + 0.35
    fig = plt.figure(figsize=(10, 5.2 + table_h))
    grid = fig.add_gridspec(2, 1, height_ratios=(5.2, table_h))
    ax = fig.add_subplot(grid[0])
    table = fig.add_subplot(grid[1])  # not sharex: pandas (under lifelines) would then hide
    # the curves' x labels as those of an inner shared axes
    for arm, (colour, style) in zip(arms, colours, strict=True):
        days = getattr(arm, f"{endpoint}_days")
        km = KaplanMeierFitter().fit(days / DAYS_PER_MONTH, getattr(arm, f"{endpoint}_event"),
                                     label=arm.name)  # fmt: skip
        median = float(km.median_survival_time_)
        km.plot_survival_function(
            ax=ax, ci_show=ci, ci_alpha=0.15, show_censors=True, color=colour, linestyle=style,
            censor_styles={"marker": "|", "ms": 6, "mew": 1}, label=f"{arm.name} "
            f"({_median_label(median * DAYS_PER_MONTH)})",
        )  # fmt: skip
        if np.isfinite(median):
            ax.plot([median], [0.5], marker="o", ms=5, color=colour, zorder=5)
            ax.vlines(median, 0, 0.5, colors=[colour], linestyles=":", linewidth=0.8)
    ax.axhline(0.5, color="0.6", linewidth=0.8, linestyle="--", zorder=0)
    ticks = np.arange(0.0, horizon + 1e-9, tick_months)
    ax.set_xticks(ticks)
    ax.set_xlim(0, horizon * 1.02)  # room for the censoring ticks at the horizon
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("months since start of treatment")
    ax.set_ylabel(f"{ENDPOINTS[endpoint]} (probability)")
    ax.set_title(f"{ENDPOINTS[endpoint].capitalize()}: {result.env_id}, {result.split} split, "
                 f"{result.n_patients} patients per arm", fontsize=10)  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title="arm (| censored, o median)", title_fontsize=8)  # fmt: skip
    at_risk = [getattr(arm, f"{endpoint}_days") / DAYS_PER_MONTH for arm in arms]
    _at_risk_table(table, [arm.name for arm in arms], at_risk, colours, ticks, ax.get_xlim())
    fig.tight_layout()
    return fig


def _at_risk_table(
    table: Any,
    names: list[str],
    months: list[np.ndarray],
    colours: list[tuple[tuple[float, ...], str]],
    ticks: np.ndarray,
    xlim: tuple[float, float],
) -> None:
    """Draw the numbers at risk on the axes ``table``: row ``i`` is arm ``i``.

    Each row's label (a y tick label, in the arm's colour) and its counts are placed at the
    same data height ``i``, so they stay side by side for any number of arms. The count at
    tick ``t`` is the arm's patients whose time is beyond ``t`` (lifelines' convention:
    those with an event or censoring at ``t`` are no longer at risk).
    """
    n = len(names)
    table.set_xlim(xlim)  # the curves' time axis, so each count sits under its tick
    table.set_ylim(n - 0.5, -0.5)  # the first arm on top, as in the legend
    table.set_yticks(range(n))
    table.set_yticklabels(names, fontsize=7)
    for label, (colour, _) in zip(table.get_yticklabels(), colours, strict=True):
        label.set_color(colour)
    for i, times in enumerate(months):
        for t in ticks:
            table.text(t, i, str(int(np.sum(times > t))), ha="center", va="center", fontsize=7)
    table.set_xticks([])
    table.tick_params(axis="y", length=0, pad=14)  # room for the counts of month 0
    for spine in table.spines.values():
        spine.set_visible(False)
    table.set_title("Number at risk", loc="left", fontsize=8, pad=2)


def _end_reason(result: TrialResult, arm_name: str, i: int) -> tuple[str, float]:
    arm = result.arms[arm_name]
    if arm.os_event[i]:
        return "death", float(arm.os_days[i])
    if arm.cured[i]:
        return "cured", float("nan")
    return "horizon", float(result.horizon_days)


def plot_dose_timeline(
    result: TrialResult,
    patients: int | Sequence[int] = 5,
) -> Figure:
    """The doses a few patients received in every arm, week by week.

    One panel per arm, one labelled row per patient (the same patients in every arm: the
    trial's paired design), one marker per week and drug with its area proportional to the
    dose that week (chemotherapy and anti-PD-1 in doses, the inhibitor in its mean fraction of
    the daily dose). Each row shows its first progression (triangle) and why it ends: death
    (cross at the day of death), cure (the env ends the episode; written at the right), or
    alive at the horizon (bar).

    Args:
        result: The trial.
        patients: How many patients to show (the first of the cohort), or their indices.

    Returns:
        The figure (not saved; see `save_figure`).

    Raises:
        ValueError: On no patients, or an index outside the arms' patients.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if not result.arms:
        raise ValueError("the trial has no arms to plot")
    arms = list(result.arms.values())
    n_total = len(arms[0].patient_ids)
    if isinstance(patients, int | np.integer):
        if patients < 1:
            raise ValueError(f"patients must be >= 1, got {patients}")
        idx = list(range(min(int(patients), n_total)))
    else:
        idx = [int(i) for i in patients]
        bad = [i for i in idx if not 0 <= i < n_total]
        if not idx or bad:
            raise ValueError(f"patient indices must be in [0, {n_total}), got {list(patients)}")
    horizon = result.horizon_days / DAYS_PER_MONTH
    row_h = 0.22 * len(idx) + 0.55
    fig, axes = plt.subplots(len(arms), 1, figsize=(11, 1.4 + row_h * len(arms)), sharex=True,
                             squeeze=False)  # fmt: skip
    for ax, arm in zip(axes[:, 0], arms, strict=True):
        for r, i in enumerate(idx):
            y = len(idx) - 1 - r
            doses = arm.weekly_doses[i]
            for j, colour in enumerate(DRUG_COLOURS):
                weeks = np.flatnonzero(doses[:, j] > 0)
                x = (weeks + 0.5) * WEEK_DAYS / DAYS_PER_MONTH
                ax.scatter(x, np.full(weeks.size, y + 0.25 - j * 0.25), linewidths=0,
                           s=FULL_DOSE_AREA * doses[weeks, j], color=colour)  # fmt: skip
            if arm.pfs_event[i] and not (arm.os_event[i] and arm.pfs_days[i] >= arm.os_days[i]):
                ax.plot(arm.pfs_days[i] / DAYS_PER_MONTH, y, marker="v", color="tab:orange", ms=7,
                        mec="k", mew=0.5)  # fmt: skip
            reason, day = _end_reason(result, arm.name, i)
            if reason == "death":
                x = day / DAYS_PER_MONTH
                ax.plot(x, y, marker="X", color="tab:red", ms=8, mec="k", mew=0.5)
                ax.hlines(y, day / DAYS_PER_MONTH, horizon, colors="0.85", linewidth=4, zorder=0)
            elif reason == "horizon":
                ax.plot(horizon, y, marker="|", color="k", ms=12, mew=2, clip_on=False)
            else:
                ax.text(horizon, y, " cured", va="center", ha="left", fontsize=7,
                        color="tab:olive", clip_on=False)  # fmt: skip
        ax.set_yticks(range(len(idx)))
        ax.set_yticklabels([arm.patient_ids[i] for i in reversed(idx)], fontsize=6)
        ax.set_ylim(-0.7, len(idx) - 0.3)
        ax.set_title(arm.name, loc="left", fontsize=8, pad=2)
        ax.grid(axis="x", color="0.9", linewidth=0.6)
    axes[-1, 0].set_xlim(0, horizon * 1.02)  # room for the end-of-row markers at the horizon
    axes[-1, 0].set_xticks(np.arange(0.0, horizon + 1e-9, 6.0))
    axes[-1, 0].set_xlabel("months since start of treatment (one marker per week and drug)")
    fig.supylabel("patient (the same patients in every arm)", fontsize=9)
    handles = [Line2D([], [], marker="o", linestyle="", color=c, ms=7, label=lbl)
               for c, lbl in zip(DRUG_COLOURS, DRUG_LABELS, strict=True)]  # fmt: skip
    handles += [Line2D([], [], marker="o", linestyle="", color="0.4", label=f"dose {d:g}",
                       ms=float(np.sqrt(FULL_DOSE_AREA * d)))
                for d in (0.25, 0.5, 1.0)]  # fmt: skip
    handles += [
        Line2D([], [], marker="v", linestyle="", color="tab:orange", mec="k", mew=0.5, ms=7,
               label="first progression"),
        Line2D([], [], marker="X", linestyle="", color="tab:red", mec="k", mew=0.5, ms=8,
               label="death"),
        Line2D([], [], marker="|", linestyle="", color="k", ms=12, mew=2,
               label="alive at horizon"),
        Line2D([], [], linestyle="", label="cured: episode ended"),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="upper center", ncol=5, fontsize=7, frameon=False,
               bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    fig.tight_layout(rect=(0, 0, 0.97, 1 - 0.55 / fig.get_figheight()))
    return fig


def save_figure(fig: Figure, path: str, dpi: int = 110) -> None:
    """Save a figure atomically (`tme_env.io.atomic_savefig`) and close it."""
    import matplotlib.pyplot as plt

    try:
        atomic_savefig(fig, path, dpi=dpi)
    finally:
        plt.close(fig)
