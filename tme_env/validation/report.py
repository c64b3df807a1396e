"""The validation report of `tme validate`: table, forest plot, KM figures, landmarks.

Written into one folder (atomically, file by file):

* ``validation.md`` and ``validation.json``: one row per target (trial, arm or contrast,
  stratum, figure, published value, model value, band, within or not, source), the fitted
  panel first, then the checks that were not fitted; the landmark OS table; the summary line
  ("N of M targets within band");
* ``validation_forest.png``: the model's hazard ratios against the published ones, with the
  published 95% CIs and the bands;
* ``validation_km.png``: KM overall survival of each trial's arm pair, with the published
  medians marked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import atomic_write_json, atomic_write_text
from tme_env.trials.outcomes import ArmOutcomes
from tme_env.trials.plots import save_figure
from tme_env.validation.panel import LANDMARK_MONTHS, PANEL
from tme_env.validation.run import stratum_mask

__all__ = ["KM_PAIRS", "plot_forest", "plot_km_pairs", "summary_line", "write_validation"]

#: KM panels: (title, stratum, arms, published medians by arm (months)).
KM_PAIRS: tuple[tuple[str, str, tuple[str, str], dict[str, float]], ...] = (
    ("KEYNOTE-189, all-comers", "all", ("chemo-pembro", "kn189-chemo"),
     {"chemo-pembro": 22.0, "kn189-chemo": 10.7}),
    ("KEYNOTE-024, TPS >= 50%", ">=50%", ("pembro", "kn024-chemo"),
     {"pembro": 26.3, "kn024-chemo": 13.4}),
    ("FDA pooled, TPS >= 50%", ">=50%", ("chemo-pembro", "pembro"),
     {"chemo-pembro": 25.0, "pembro": 20.9}),
    ("FDA pooled, TPS 1-49%", "1-49%", ("chemo-pembro", "pembro"),
     {"chemo-pembro": 21.4, "pembro": 14.5}),
)  # fmt: skip


def summary_line(rows: list[dict[str, Any]]) -> str:
    """``"N of M fitted targets within band"`` (and the checks, when there are any)."""
    fitted = [r for r in rows if r["fitted"]]
    checks = [r for r in rows if not r["fitted"]]
    text = f"{sum(r['within'] for r in fitted)} of {len(fitted)} panel targets within band"
    if checks:
        text += f"; {sum(r['within'] for r in checks)} of {len(checks)} unfitted checks"
    return text


def _fmt(v: float, figure: str) -> str:
    if not np.isfinite(v):
        return "n/a"
    return f"{v:.2f}" if figure.endswith("_hr") else f"{v:.1f}"


def _markdown(rows: list[dict[str, Any]], landmarks: list[dict[str, Any]], meta: dict) -> str:
    lines = [
        "# Model validation against the first-line trial panel",
        "",
        f"{meta['split']} split, {meta['n_patients']} patients per arm (the same patients in "
        f"every arm), env `{meta['env_id']}`, seed {meta['seed']}.",
        "",
        f"**{summary_line(rows)}.**",
        "",
        "Bands: hazard ratio +/- 0.10, median +/- 20%, landmark rate +/- 5 points, response "
        "rate +/- 10 points. Medians in months, rates in %. The control arms include crossover "
        "to pembrolizumab at progression (KEYNOTE-189 57.4%, KEYNOTE-024 66.0%).",
        "",
    ]
    for title, fitted in (("Fitted panel", True), ("Checks not fitted (reported as found)", False)):
        part = [r for r in rows if r["fitted"] == fitted]
        if not part:
            continue
        lines += [f"## {title}", "",
                  "| trial | arm or contrast | stratum | figure | published | model | band | "
                  "within | source |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in part:
            ci = f" ({r['ci'][0]:.2f}-{r['ci'][1]:.2f})" if r["ci"] else ""
            lo, hi = r["band"]
            lines.append(
                f"| {r['trial']} | {r['arm']} | {r['stratum']} | {r['figure']} | "
                f"{_fmt(r['published'], r['figure'])}{ci} | {_fmt(r['model'], r['figure'])} | "
                f"{_fmt(lo, r['figure'])}-{_fmt(hi, r['figure'])} | "
                f"{'yes' if r['within'] else '**no**'} | {r['source']} |"
            )
        lines.append("")
    months = " | ".join(f"{m} mo" for m in LANDMARK_MONTHS)
    lines += ["## Overall survival landmarks (%)", "",
              f"| arm | stratum | n | {months} | median (mo) |",
              "|---|---|---|" + "---|" * (len(LANDMARK_MONTHS) + 1)]  # fmt: skip
    for r in landmarks:
        cells = " | ".join(f"{r[f'os_{m}m']:.1f}" for m in LANDMARK_MONTHS)
        med = r["os_median_months"]
        med_text = f"{med:.1f}" if np.isfinite(med) else "not reached"
        lines.append(f"| {r['arm']} | {r['stratum']} | {r['n']} | {cells} | {med_text} |")
    lines += ["", "Figures: `validation_forest.png`, `validation_km.png`.", ""]
    return "\n".join(lines)


def plot_forest(rows: list[dict[str, Any]]) -> Any:
    """Forest plot: every hazard-ratio target, published (with CI) and model."""
    import matplotlib.pyplot as plt

    hrs = [r for r in rows if r["figure"].endswith("_hr")]
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(hrs) + 1.4))
    for k, r in enumerate(reversed(hrs)):
        lo, hi = r["band"]
        ax.fill_betweenx([k - 0.3, k + 0.3], lo, hi, color="0.9", zorder=0)
        if r["ci"]:
            ax.plot(r["ci"], [k, k], color="k", lw=1.2)
        ax.plot(r["published"], k, "ks", ms=6, label="published (95% CI)" if k == 0 else None)
        colour = "tab:green" if r["within"] else "tab:red"
        ax.plot(r["model"], k, "o", color=colour, ms=7, mfc="none", mew=2,
                label="model" if k == 0 else None)  # fmt: skip
    labels = [f"{r['trial']}: {r['arm']} ({r['stratum']}) {r['figure'].replace('_hr', ' HR')}"
              for r in reversed(hrs)]  # fmt: skip
    ax.set_yticks(range(len(hrs)), labels, fontsize=8)
    ax.axvline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel("hazard ratio (grey: the +/- 0.10 band; green in band, red not)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title("Model vs published hazard ratios", fontsize=10)
    fig.tight_layout()
    return fig


def plot_km_pairs(arms: dict[str, ArmOutcomes], strata: np.ndarray) -> Any:
    """KM overall survival of each trial's arm pair (`KM_PAIRS`), published medians marked."""
    import matplotlib.pyplot as plt
    from lifelines import KaplanMeierFitter

    pairs = [p for p in KM_PAIRS if all(a in arms for a in p[2])]
    ncol = 2
    nrow = max(1, math.ceil(len(pairs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 3.8 * nrow), squeeze=False)
    for ax, (title, stratum, names, medians) in zip(axes.flat, pairs, strict=False):
        mask = stratum_mask(strata, stratum)
        for name, colour in zip(names, ("tab:blue", "tab:orange"), strict=True):
            arm = arms[name]
            km = KaplanMeierFitter().fit(arm.os_days[mask] / DAYS_PER_MONTH,
                                         arm.os_event[mask], label=f"{name} (model)")  # fmt: skip
            km.plot_survival_function(ax=ax, ci_show=False, color=colour)
            ax.plot([medians[name]], [0.5], marker="v", ms=9, color=colour, ls="none",
                    label=f"{name}: published median {medians[name]:.1f} mo")  # fmt: skip
        ax.axhline(0.5, color="0.7", lw=0.8, ls="--")
        ax.set_title(f"{title} (n = {int(mask.sum())} per arm)", fontsize=9)
        ax.set_xlabel("months")
        ax.set_ylabel("overall survival")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, frameon=False)
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def write_validation(
    out: str | Path,
    rows: list[dict[str, Any]],
    landmarks: list[dict[str, Any]],
    arms: dict[str, ArmOutcomes],
    strata: np.ndarray,
    meta: dict[str, Any],
    figures: bool = True,
) -> dict[str, str]:
    """Write the report's files into ``out`` (created); returns their paths by kind."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": str(folder / "validation.md"), "json": str(folder / "validation.json")}
    clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
              for k, v in r.items()} for r in rows]  # fmt: skip
    atomic_write_json(paths["json"], {
        "summary": summary_line(rows), **meta, "panel_size": len(PANEL), "targets": clean,
        "landmarks": landmarks,
    })  # fmt: skip
    atomic_write_text(paths["markdown"], _markdown(rows, landmarks, meta))
    if figures:
        paths["forest"] = str(folder / "validation_forest.png")
        save_figure(plot_forest(rows), paths["forest"])
        paths["km"] = str(folder / "validation_km.png")
        save_figure(plot_km_pairs(arms, strata), paths["km"])
    return paths
