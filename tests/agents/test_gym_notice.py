"""The legacy gym's import banner stays off stderr once tme_env.agents is imported (issue 29).

d3rlpy (the ``offline`` extra) installs gym 0.26.2, whose import prints a 4-line
"unmaintained" notice from ``gym_notices``; stable-baselines3 imports gym when it is there.
These tests use a stand-in gym (same mechanism), so they run without the extra;
tests/offline checks the real one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

BANNER = "Gym has been unmaintained since 2022"
REPO = Path(__file__).resolve().parents[2]


def _fake_gym(root: Path) -> None:
    """gym_notices and a gym that prints its notice on import, as gym 0.26.2 does."""
    (root / "gym_notices").mkdir()
    (root / "gym_notices" / "__init__.py").write_text("")
    (root / "gym_notices" / "notices.py").write_text(f"notices = {{'0.26.2': {BANNER!r}}}\n")
    (root / "gym").mkdir()
    (root / "gym" / "__init__.py").write_text(textwrap.dedent("""
        import sys
        __version__ = "0.26.2"
        try:
            import gym_notices.notices as notices
            notice = notices.notices.get(__version__)
            if notice:
                print(notice, file=sys.stderr)
        except Exception:
            pass
    """))


def _run(code: str, path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), str(REPO)])}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def test_gym_banner_hidden_once_tme_env_offline_is_imported(tmp_path):
    """A process that imports tme_env.offline (and so tme_env.agents) never shows it."""
    _fake_gym(tmp_path)
    shown = _run("import gym", tmp_path)
    assert BANNER in shown.stderr  # the stand-in prints it, as the real gym does
    hidden = _run("import tme_env.offline, warnings, gym\nwarnings.warn('ours')", tmp_path)
    assert hidden.returncode == 0, hidden.stderr
    assert BANNER not in hidden.stderr
    assert "UserWarning: ours" in hidden.stderr  # warnings are untouched


def test_hide_gym_notice_empties_only_the_notice_table(monkeypatch):
    """What importing tme_env.agents runs: the banner table is emptied, nothing else."""
    import types

    from tme_env.agents import hide_gym_notice

    fake = types.ModuleType("gym_notices.notices")
    fake.notices = {"0.26.2": BANNER}
    package = types.ModuleType("gym_notices")
    package.notices = fake
    monkeypatch.setitem(sys.modules, "gym_notices", package)
    monkeypatch.setitem(sys.modules, "gym_notices.notices", fake)
    hide_gym_notice()
    assert fake.notices == {}
    monkeypatch.setitem(sys.modules, "gym_notices", None)  # not installed: nothing to do
    hide_gym_notice()
