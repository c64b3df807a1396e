"""Wall times of the commands the README and experiments/README.md quote, measured here.

Each command runs as a user would run it: a fresh process from the repository root, output to
a temporary folder (removed afterwards), the numba cache warm (run the test suite or any
command once first; a cold cache adds about 10 s to the first command). The table printed at
the end is what the READMEs' stated times come from, each with the 1-minute load average
before it (run on an idle machine); ``--json FILE`` also writes it.

Usage::

    python experiments/benchmarks/timings.py                 # the quick commands (~2 min)
    python experiments/benchmarks/timings.py --long          # also the long experiments
    python experiments/benchmarks/timings.py --only trial,quickstart
    python experiments/benchmarks/timings.py --quick         # the smoke test: one script's
                                                             # --quick run, output in $TMPDIR
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # experiments/
import quick  # noqa: E402 - experiments/quick.py: the --quick flag

ROOT = Path(__file__).resolve().parents[2]
#: What ``--quick`` times (unless ``--only`` says otherwise): the quickest command.
QUICK_ONLY = "immune_shift_patient"


@dataclass(frozen=True)
class Command:
    """One timed command line, as the READMEs give it (``{out}``: a fresh temporary path)."""

    name: str
    line: str
    long: bool = False

    def argv(self, out: Path, quick: bool = False) -> list[str]:
        """The command's arguments, ``python`` being this interpreter.

        ``quick``: an experiment script (``python experiments/...``) gets ``--quick``.
        """
        argv = [a.replace("{out}", str(out)) for a in shlex.split(self.line)]
        if quick and argv[0] == "python" and argv[1].startswith("experiments/"):
            argv.append("--quick")
        return [sys.executable if a == "python" else a for a in argv]


COMMANDS = (
    Command("trial", "tme trial --policies all --split test --n-patients 500 --seed 0 --out {out}"),
    Command("quickstart", "tme quickstart --out {out}"),
    Command("immune_shift_patient", "python experiments/immune_shift_patient.py --out {out}.png"),
    Command("immune_shift_study", "python experiments/immune_shift_study.py --out {out}.png"),
    Command("biomarker_study", "python experiments/biomarker_study.py --out {out}.png"),
    Command("trial_figures", "python experiments/trial_figures.py --out {out}"),
    Command("benchmark_simulator", "python experiments/benchmarks/simulator.py"),
    Command("benchmark_envs", "python experiments/benchmarks/envs.py"),
    Command("model_study", "python experiments/model_study.py --out {out}"),
    Command("tests", "python -m pytest -q -p no:cacheprovider", long=True),
    Command("adaptivity_study", "python experiments/adaptivity_study.py --out {out}", long=True),
    Command("depillis_literature", "python experiments/depillis_literature.py", long=True),
    Command(
        "leaderboard",
        "python experiments/leaderboard.py --root {out}/results --out {out}/board",
        long=True,
    ),
)


def run(command: Command, tmp: Path, tail_lines: int = 3,
        quick: bool = False) -> tuple[float, int, str]:  # fmt: skip
    """Run one command from the repository root; return (seconds, exit code, output tail).

    ``quick``: the experiment scripts run in their ``--quick`` mode.
    """
    out = tmp / command.name
    argv = command.argv(out, quick)
    if "{out}/" in command.line:
        out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return elapsed, proc.returncode, "\n".join(lines[-tail_lines:])


def main(argv: list[str] | None = None) -> int:
    """Time the commands and print a markdown table (exit code 1 if any command failed)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", action="store_true", help="also the long experiments")
    names = {c.name for c in COMMANDS}
    ap.add_argument("--only", default=None, help=f"comma-separated among: {', '.join(names)}")
    ap.add_argument("--json", default=None, metavar="FILE", help="also write the table as JSON")
    args = quick.parse_args(ap, argv, __file__, sizes={"only": QUICK_ONLY},
                            outputs={"json": "timings.json"})  # fmt: skip
    if args.only:
        chosen = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(chosen) - names)
        if unknown:
            ap.error(f"--only: unknown command(s) {', '.join(unknown)}; valid: "
                     f"{', '.join(sorted(names))}")  # fmt: skip
        todo = [c for c in COMMANDS if c.name in chosen]
    else:
        todo = [c for c in COMMANDS if args.long or not c.long]
    cores = os.cpu_count()
    load = os.getloadavg()[0]
    print(f"{len(todo)} commands on {platform.machine()}, {cores} cores, Python "
          f"{platform.python_version()}; load average {load:.1f}", flush=True)  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="tme-timings-") as tmp:
        for k, command in enumerate(todo, 1):
            shown = command.line.replace(" {out}", " OUT").replace("{out}", "OUT")
            if args.quick and command.line.startswith("python experiments/"):
                shown += " --quick"
            print(f"[{k}/{len(todo)}] {shown} ...", flush=True)
            before = os.getloadavg()[0]
            seconds, code, tail = run(command, Path(tmp), quick=args.quick)
            print(f"    {seconds:.1f} s, exit {code}", flush=True)
            if code:
                print("    " + tail.replace("\n", "\n    "), flush=True)
            rows.append({"command": command.name, "argv": shown, "seconds": round(seconds, 1),
                         "load_before": round(before, 2),
                         "exit_code": code})  # fmt: skip
    print(f"\n| command | wall time, s ({cores} cores) | load average before it |")
    print("|---|---|---|")
    for r in rows:
        status = "" if r["exit_code"] == 0 else f" (failed, exit {r['exit_code']})"
        print(f"| `{r['argv']}` | {r['seconds']:.0f}{status} | {r['load_before']:.1f} |")
    if args.json:
        sys.path.insert(0, str(ROOT))
        from tme_env.io import atomic_write_json

        atomic_write_json(args.json, {"cores": cores, "commands": rows})
    return 1 if any(r["exit_code"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
