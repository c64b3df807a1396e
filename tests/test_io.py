"""Atomic output helpers."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tme_env.io import atomic_savefig, atomic_write_json, atomic_write_text  # noqa: E402


def test_atomic_writers_leave_only_the_final_files(tmp_path):
    atomic_write_text(tmp_path / "a" / "x.txt", "hello")
    atomic_write_json(tmp_path / "a" / "y.json", {"v": np.float64(1.5)})
    fig, _ = plt.subplots()
    atomic_savefig(fig, tmp_path / "a" / "z.png")
    plt.close(fig)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.txt", "y.json", "z.png"]
    assert (tmp_path / "a" / "x.txt").read_text() == "hello"
    assert json.loads((tmp_path / "a" / "y.json").read_text()) == {"v": 1.5}
