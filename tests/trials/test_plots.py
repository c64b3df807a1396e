"""Trial figures: what a clinician reads off them is on them (numbers at risk, medians, ends)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - after selecting the backend
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from tme_env.trials import ArmOutcomes, TrialResult  # noqa: E402
from tme_env.trials.plots import (  # noqa: E402
    FULL_DOSE_AREA,
    arm_colours,
    plot_dose_timeline,
    plot_km,
    save_figure,
)

MONTH = 30.4375


def _arm(name, os_days, os_event, cured=None, weekly=None, pfs_days=None):
    n = len(os_days)
    z = np.zeros(n)
    pfs = np.array(pfs_days if pfs_days is not None else os_days, float)
    return ArmOutcomes(
        name, [f"p{i}" for i in range(n)], np.array(os_days, float), np.array(os_event, bool),
        pfs, np.array(os_event, bool) | (pfs < np.array(os_days, float)),
        np.array(["SD"] * n, dtype=object),
        np.array(cured if cured is not None else [False] * n, bool), z, z, z, z, z,
        weekly if weekly is not None else np.zeros((n, 4, 3)),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _trial(horizon=120.0, **arms):
    return TrialResult("tme/TumorImmune-v2", "test", 4, 0, horizon, arms)


def test_km_plot_has_numbers_at_risk_medians_and_censoring_ticks():
    # "a": deaths at 30, 60, 90 days, one censored at 120 -> median 60 days (KM 1, .75, .5).
    # "b": one death at 60, three censored at 120 -> KM 0.75: median not reached.
    result = _trial(a=_arm("a", [30, 60, 90, 120], [1, 1, 1, 0]),
                    b=_arm("b", [60, 120, 120, 120], [1, 0, 0, 0]))  # fmt: skip
    fig = plot_km(result, "os", tick_months=1.0)
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert f"a (median {60 / MONTH:.1f} mo)" in labels
    assert "b (median not reached)" in labels
    assert ax.get_legend() is not None
    # The legend sits outside the axes (anchored right of it), not over the curves.
    legend_box = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert legend_box.x0 >= ax.get_window_extent().x1
    # The median marker of "a" sits on the 0.5 line at 60 days; "b" has none.
    medians = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(medians) == 1
    assert medians[0].get_xdata()[0] == pytest.approx(60 / MONTH)
    assert medians[0].get_ydata()[0] == 0.5
    # Censoring ticks ("|") for the censored times.
    censor = [ln for ln in ax.get_lines() if ln.get_marker() == "|"]
    assert sum(len(ln.get_xdata()) for ln in censor) >= 2
    # The at-risk table: month 0: all 4 at risk in both arms; month 1 (30.4 days): "a" lost
    # one; month 2: "a" 2, "b" 3 (deaths at 60 days in both).
    rows = _at_risk_rows(fig)
    assert [name for name, _ in rows] == ["a", "b"]
    assert [c[:3] for _, c in rows] == [["4", "3", "2"], ["4", "4", "3"]], rows


def _at_risk_rows(fig):
    """The at-risk table's rows: ``(label, counts)``, with every count beside its label.

    Positions are checked in display coordinates from the text objects themselves: each
    count's height equals its row label's, and its x is a time tick of the curves.
    """
    ax = fig.axes[0]
    table = next(a for a in fig.axes if a.get_title(loc="left") == "Number at risk")
    fig.canvas.draw()

    def y_of(text):
        return text.get_transform().transform(text.get_position())[1]

    labels = [t for t in table.get_yticklabels() if t.get_text()]
    counts = list(table.texts)
    ticks_px = {round(float(ax.transData.transform((x, 0))[0]), 3) for x in ax.get_xticks()}
    rows = []
    for label in labels:
        row = [t for t in counts if y_of(t) == pytest.approx(y_of(label), abs=1e-6)]
        xs = [round(float(t.get_transform().transform(t.get_position())[0]), 3) for t in row]
        assert set(xs) <= ticks_px and len(xs) == len(set(xs))
        rows.append((label.get_text(), [t.get_text() for t in sorted(row, key=lambda t:
                                                                      t.get_position()[0])]))
    assert sum(len(c) for _, c in rows) == len(counts)  # no count outside a labelled row
    return rows


def test_at_risk_rows_stay_beside_their_labels_with_many_arms():
    """With 12 arms every row keeps its label and all its numbers (issue 29: they drifted).

    Each arm has a distinct count at month 1, so a row shifted by one would show it.
    """
    names = ["no-treatment", "mtd-chemo", "metronomic", "ici-mono", "chemo-ici-concurrent",
             "chemo-ici-inhibitor", "chemo-ici-sequential", "adaptive-at50", "best-fixed",
             "sac", "behaviour (clinician-mixed)", "ppo"]  # fmt: skip
    arms = {}
    for k, name in enumerate(names):
        days = [20] * k + [120] * (12 - k)  # k deaths before month 1
        arms[name] = _arm(name, days, [1] * k + [0] * (12 - k))
    result = TrialResult("tme/TumorImmune-v2", "test", 12, 0, 120.0, arms)
    fig = plot_km(result, "os", tick_months=1.0)
    rows = _at_risk_rows(fig)
    assert [name for name, _ in rows] == names
    for k, (_, counts) in enumerate(rows):
        assert counts == ["12", str(12 - k), str(12 - k), str(12 - k)], (names[k], counts)
    # The rows run top to bottom in the legend's order, evenly spaced.
    table = fig.axes[1]
    ys = [t.get_transform().transform(t.get_position())[1] for t in table.get_yticklabels()]
    assert np.all(np.diff(ys) < 0) and np.allclose(np.diff(ys), np.diff(ys)[0])


def test_km_plot_ci_bands_are_optional():
    result = _trial(a=_arm("a", [30, 60, 90, 120], [1, 1, 1, 0]))
    without = plot_km(result, "pfs", ci=False).axes[0]
    with_ci = plot_km(result, "pfs", ci=True).axes[0]
    assert len(with_ci.collections) > len(without.collections)  # the filled band
    assert "progression-free" in with_ci.get_ylabel()


def test_km_plot_rejects_bad_arguments_by_name():
    result = _trial(a=_arm("a", [30], [1]))
    with pytest.raises(ValueError, match="unknown endpoint 'dfs'.*os, pfs"):
        plot_km(result, "dfs")
    with pytest.raises(ValueError, match="tick_months must be > 0"):
        plot_km(result, tick_months=0)


def test_ten_arms_get_ten_distinct_colours_and_more_change_line_style():
    pairs = arm_colours(12)
    assert len({to_hex(c) for c, _ in pairs[:10]}) == 10
    assert pairs[10][1] != pairs[0][1] and pairs[11][1] != pairs[1][1]
    with pytest.raises(ValueError, match="n=0"):
        arm_colours(0)


def test_dose_timeline_encodes_dose_size_and_why_each_row_ends():
    weekly = np.zeros((3, 4, 3))
    weekly[:, 0, 0] = [1.0, 0.5, 0.25]  # chemo in week 0, three dose sizes
    weekly[:, 1, 1] = 1.0  # anti-PD-1 in week 1
    arm = _arm("x", [50.0, 120.0, 120.0], [1, 0, 0], cured=[False, True, False], weekly=weekly,
               pfs_days=[20.0, 120.0, 120.0])  # fmt: skip
    fig = plot_dose_timeline(_trial(x=arm), patients=3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["p2", "p1", "p0"]  # top row first
    assert ax.get_title(loc="left") == "x"
    assert "patient" in fig.get_supylabel()
    dots = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    sizes = np.concatenate([c.get_sizes() for c in dots])
    assert sorted(set(np.round(sizes, 6))) == pytest.approx(
        sorted({FULL_DOSE_AREA * d for d in (0.25, 0.5, 1.0)})
    )
    markers = {ln.get_marker(): ln for ln in ax.get_lines()}
    assert markers["X"].get_xdata()[0] == pytest.approx(50.0 / MONTH)  # p0 died on day 50
    assert markers["v"].get_xdata()[0] == pytest.approx(20.0 / MONTH)  # p0 progressed day 20
    assert markers["|"].get_ydata()[0] == 0  # p2 (bottom row) reached the horizon
    assert [t.get_text().strip() for t in ax.texts] == ["cured"]  # p1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    for key in ("chemotherapy", "anti-PD-1", "inhibitor", "dose 0.5", "death",
                "first progression", "alive at horizon"):  # fmt: skip
        assert key in legend


def test_dose_timeline_rejects_bad_patient_selections():
    result = _trial(x=_arm("x", [50.0, 120.0], [1, 0]))
    with pytest.raises(ValueError, match="patients must be >= 1, got 0"):
        plot_dose_timeline(result, patients=0)
    with pytest.raises(ValueError, match=r"in \[0, 2\), got \[5\]"):
        plot_dose_timeline(result, patients=[5])


def test_save_figure_writes_the_file_and_leaves_no_temporary(tmp_path):
    fig = plot_km(_trial(a=_arm("a", [30, 60], [1, 0])))
    save_figure(fig, str(tmp_path / "km.png"))
    assert (tmp_path / "km.png").read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["km.png"]
