"""The README's Python and shell blocks run verbatim.

Python blocks are executed in order. Shell blocks are split into commands (comments and
line continuations handled) and each command is either

* run verbatim in a scratch folder (cheap commands, in the default suite; every command in the
  slow test), or
* checked without running it: its program must exist and every ``--flag`` it uses must
  appear in the command's own ``--help`` (long commands, in the default suite).

Commands that install, start a server or run the test suite (``pip``, ``python -m venv``,
``tensorboard``, ``python -m pytest``) are only checked for their form.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
#: Commands cheap enough to run verbatim in the default suite (prefixes).
CHEAP = ("tme models", "tme simulate", "tme regimens")
#: Commands never run: installing, a server, the suite itself.
NEVER = ("pip install", "python -m venv", "tensorboard", "python -m pytest", ". .venv")


def shell_commands(text: str) -> list[str]:
    """Every command of the ``bash`` blocks, in order (comments dropped, continuations joined)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        block = block.replace("\\\n", " ")
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                commands.extend(part.strip() for part in line.split("&&"))
    return commands


def _scratch(tmp_path: Path) -> Path:
    # The commands use repository-relative paths: link those folders into the scratch folder.
    for name in ("agents", "examples", "experiments", "tme_env"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def _split(command: str) -> tuple[dict[str, str], list[str]]:
    """Leading ``NAME=value`` assignments (the command's environment) and the argv."""
    argv = shlex.split(command)
    env = {}
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", argv[0]):
        name, value = argv.pop(0).split("=", 1)
        env[name] = value
    return env, [sys.executable if a == "python" else a for a in argv]


def _argv(command: str) -> list[str]:
    return _split(command)[1]


def _run(
    argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)  # fmt: skip


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _help_argv(command: str) -> list[str]:
    """The command's program (and subcommand) with ``--help``."""
    argv = _argv(command)
    if argv[0] == "tme":
        return argv[:2] + ["--help"]
    if argv[0] == sys.executable and argv[1] == "-m":
        return argv[:3] + ["--help"]
    if argv[0] == sys.executable:
        return argv[:2] + ["--help"]
    return [argv[0], "--help"]


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})  # noqa: S102 - our own documentation


def test_shell_commands_are_split_as_a_shell_would():
    text = "```bash\na --x 1 \\\n  --y 2   # note\n# only a comment\nb && c\n```\n"
    assert shell_commands(text) == ["a --x 1    --y 2", "b", "c"]
    env, argv = _split("A_B=x python -c 'print(1)'")
    assert env == {"A_B": "x"} and argv == [sys.executable, "-c", "print(1)"]


def test_readme_cheap_shell_commands_run_verbatim(tmp_path):
    commands = [c for c in shell_commands(README.read_text()) if c.startswith(CHEAP)]
    assert len(commands) >= 4, commands
    cwd = _scratch(tmp_path)
    for command in commands:
        proc = _run(_argv(command), cwd, timeout=300)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert proc.stdout.strip(), f"{command} printed nothing"
    assert (tmp_path / "traj.csv").stat().st_size > 0  # tme simulate ... --out traj.csv


def test_readme_long_shell_commands_use_only_flags_their_help_lists(tmp_path):
    commands = [c for c in shell_commands(README.read_text())
                if not c.startswith(CHEAP + NEVER)]  # fmt: skip
    assert any(c.startswith("tme quickstart") for c in commands), commands
    cwd = _scratch(tmp_path)
    for command in commands:
        if _argv(command)[1:2] == ["-c"]:
            continue  # inline code, run by the slow test
        argv = _help_argv(command)
        if argv[:3] == [sys.executable, "-m", "rl_zoo3.train"] and not _have("rl_zoo3"):
            continue  # not a dependency: checked where it is installed
        proc = _run(argv, cwd, timeout=120)
        assert proc.returncode == 0, f"{argv}\n{proc.stderr[-2000:]}"
        program = len(argv) - 1  # the words before --help: python's own -m is not a flag
        flags = [a.split("=")[0] for a in _argv(command)[program:] if a.startswith("-")]
        missing = [f for f in flags if not re.search(rf"(^|[\s,\[]){re.escape(f)}\b", proc.stdout)]
        assert not missing, f"{command}: {missing} not in `{' '.join(argv)}` output"


def test_interpreter_flags_are_not_counted_as_the_programs():
    # `python -m rl_zoo3.train --algo ppo`: `-m` is python's, `--algo` the program's.
    argv = _help_argv("python -m rl_zoo3.train --algo ppo -conf x.yml")
    assert argv[-1] == "--help"
    words = _argv("python -m rl_zoo3.train --algo ppo -conf x.yml")[len(argv) - 1 :]
    assert [a for a in words if a.startswith("-")] == ["--algo", "-conf"]


def test_readme_never_run_commands_are_the_documented_install():
    commands = [c for c in shell_commands(README.read_text()) if c.startswith(NEVER)]
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in commands
    assert 'pip install -e ".[dev]"' in commands
    assert "python -m pytest" in commands
    assert shutil.which("tensorboard"), "the README's tensorboard command is not installed"


#: Commands that need an optional extra, by prefix or flag: (marker, the modules it needs).
EXTRAS = (
    ("python -m rl_zoo3", ("rl_zoo3",)),
    ("tme dataset", ("minari",)),
    ("import minari", ("minari",)),
    ("python experiments/offline_rl.py", ("minari", "d3rlpy")),
    ("--backend ray", ("ray",)),
    ("tme sweep", ("ray",)),
)


def _missing_extra(command: str) -> tuple[str, ...]:
    """The modules an optional extra of ``command`` needs and this environment lacks."""
    for marker, modules in EXTRAS:
        if marker in command:
            return tuple(m for m in modules if not _have(m))
    return ()


def test_extras_are_recognised_in_the_readme_commands():
    commands = shell_commands(README.read_text())
    marked = {marker for c in commands for marker, _ in EXTRAS if marker in c}
    assert {"tme dataset", "import minari", "--backend ray", "tme sweep"} <= marked


@pytest.mark.slow
def test_readme_every_shell_command_runs_verbatim(tmp_path):
    cwd = _scratch(tmp_path)
    for command in shell_commands(README.read_text()):
        if command.startswith(NEVER):
            continue
        if _missing_extra(command):  # runs verbatim where its extra is installed
            continue
        env, argv = _split(command)
        proc = _run(argv, cwd, timeout=1800, env=env)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
