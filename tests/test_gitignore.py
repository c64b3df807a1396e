"""What the README's commands write in the repository root is ignored by git (issue 29).

A user who follows the README from the repository root gets ``datasets/``, ``ppo.zip``,
rl_zoo3's ``logs/``, the quickstart, trial and benchmark folders there; none of them may show
up as untracked files. No package or test folder may be ignored by the same patterns.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_readme import README, ROOT, shell_commands
from tme_env.cli import build_parser

#: Outputs no ``--out`` names: rl_zoo3's default log folder (``-f logs``).
IMPLICIT = {"logs"}


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def _work_tree():
    if shutil.which("git") is None or _git("rev-parse", "--is-inside-work-tree").returncode:
        pytest.skip("not a git work tree")


def _defaults() -> dict[str, str]:
    """``tme`` sub-command -> its ``--out`` default (where it writes without the flag)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    out = {}
    for name, p in sub.choices.items():
        for action in p._actions:
            if "--out" in action.option_strings and isinstance(action.default, str):
                out[name] = action.default
    return out


def readme_outputs() -> set[str]:
    """Every relative output path of the README's shell commands (``--out`` or the default)."""
    defaults = _defaults()
    outs = set(IMPLICIT)
    for command in shell_commands(README.read_text()):
        argv = shlex.split(command)
        if "--out" in argv:
            outs.add(argv[argv.index("--out") + 1])
        elif argv[:1] == ["tme"] and len(argv) > 1 and argv[1] in defaults:
            outs.add(defaults[argv[1]])
    return {o for o in outs if not Path(o).is_absolute()}


def test_every_readme_output_is_ignored(_work_tree):
    outputs = readme_outputs()
    assert {"datasets", "ppo.zip", "logs", "quickstart", "trial"} <= outputs, outputs
    # Outputs into a tracked folder (agents/hyperparams/zoo is generated and committed).
    tracked = {o for o in outputs if (ROOT / Path(o).parts[0]).exists()
               and not _git("ls-files", "--error-unmatch", Path(o).parts[0] + "/").returncode}
    probes = [f"{o}/a-file" for o in sorted(outputs - tracked)]
    ignored = _git("check-ignore", "--no-index", *probes).stdout.split()
    assert set(ignored) == set(probes), sorted(set(probes) - set(ignored))


def test_no_source_folder_is_ignored(_work_tree):
    probes = [f"{p}/a.py" for p in ("tme_env/benchmark", "tme_env/trials", "tests/trials",
                                    "experiments/benchmarks", "examples", "agents")]  # fmt: skip
    assert _git("check-ignore", "--no-index", *probes).stdout.split() == []
