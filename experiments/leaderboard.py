"""The benchmark leaderboard (protocol ``tme-benchmark-1``, ``BENCHMARK.md``), end to end.

Four stages, each resumable (a finished piece leaves a marker file and is reused):

1. ``train``: the RL baselines, every seed (`RL_BASELINES`): PPO, A2C, SAC, TD3 on the full
   observation, DQN on the discrete variant, PPO and RecurrentPPO on the clinical
   observation, and the value-of-information ablation (the same clinical agents with the
   MDSC assay and the biopsy blinded, `tme_env.agents.blind`). Seed-major order: an
   interrupted run has the same number of seeds of every method.
2. ``search``: the best fixed schedule
   (`tme_env.benchmark.baselines.search_fixed_schedule`: optuna TPE over the schedule
   family on the train split, the best few re-ranked on validation), once per task. The
   result goes to ``agents/best-fixed/best_fixed.json`` (never into the package; adopting it
   means copying it over ``tme_env/benchmark/baselines/best_fixed.json`` in a commit).
3. ``score``: `tme_env.benchmark.run_benchmark` on the test split for every baseline of a
   task, then ``leaderboard.md`` / ``leaderboard.json`` and the performance-profile figure.
4. ``publish``: every learned baseline, all its seeds, as a trained reference agent in the
   repository's ``agents/<name>/`` (`publish_stage`).

Usage::

    python experiments/leaderboard.py [train] [search] [score] [publish] [--seeds 5] [--quick]

``--quick`` shrinks every budget and patient count, with one seed (unless ``--seeds`` says
otherwise); its results and leaderboard go under ``$TMPDIR/tme-quick/leaderboard/`` (unless
``--root``/``--out`` say otherwise), never over the committed leaderboard.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import quick  # experiments/quick.py: the --quick flag

ROOT = Path(__file__).resolve().parent
#: Where the search stage writes the best fixed schedule: the repository's ``agents/`` folder,
#: never the package. The package keeps a read-only copy
#: (`tme_env.benchmark.baselines.BEST_FIXED_FILE`, what ``best_fixed_schedule`` reads);
#: adopting a new search result means copying this file over it in a commit.
BEST_FIXED_OUT = ROOT.parent / "agents" / "best-fixed" / "best_fixed.json"
FULL, CLINICAL = "tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2"


@dataclass(frozen=True)
class RLBaseline:
    """One learned baseline of the leaderboard.

    Attributes:
        name: Leaderboard name.
        algo: `tme_env.agents.algos.ALGOS` entry.
        train_env: The env it trains on.
        task: The benchmark task it is scored on.
        steps: Training budget per seed, in simulated weekly env steps (a per-cycle agent
            makes ``steps // cycle_weeks`` decisions).
        blind: Clinical observation fields it never sees.
        config: Hyperparameter file (`tme train --config`): the tuned one of
            ``experiments/tune_agents.py`` (``agents/hyperparams/tuned/``), or None for the
            package defaults.
        cycle_weeks: The per-cycle variant (`tme_env.agents.cycle`): one decision per this
            many weeks; None: weekly.
    """

    name: str
    algo: str
    train_env: str
    task: str
    steps: int
    blind: tuple[str, ...] = field(default=())
    config: str | None = None
    cycle_weeks: int | None = None

    @property
    def decisions(self) -> int:
        """Agent steps of the budget (``steps`` weeks, one decision per cycle if per-cycle)."""
        return -(-self.steps // (self.cycle_weeks or 1))


def rl_baselines() -> list[RLBaseline]:
    """The learned baselines and their budgets (1M simulated weeks; a 3M track, section 3).

    The protocol's track is 1M simulated weeks; the per-cycle PPO also runs a 3M track
    (``ppo-clinical-cycle-3m``; `BENCHMARK.md` section 3).

    Every run normalises its observations (the package default, `tme_env.agents.normalize`).
    PPO on the clinical observation, weekly and per cycle, uses the settings the agents
    study selected on validation (``experiments/agents_study.py``, ``figures/agents.md``);
    PPO on the full observation those of the v1 optuna search (``experiments/tune_agents.py``).
    A2C, DQN, SAC, TD3, RecurrentPPO, TQC and QR-DQN have no v2 row: the session that
    retrained these on v2 had the 2 cores for the PPO rows only (``BENCHMARK.md`` section 8).
    """
    from tme_env.agents.blind import MONITORING

    million = 1_000_000
    tuned = ROOT.parent / "agents" / "hyperparams" / "tuned"  # the repository's agents/ folder

    def cfg(name: str) -> str:
        return str(tuned / f"{name}.yml")

    return [
        RLBaseline("ppo-clinical-cycle", "ppo", CLINICAL, CLINICAL, million,
                   config=cfg("ppo-clinical-cycle"), cycle_weeks=3),
        RLBaseline("ppo-clinical-cycle-3m", "ppo", CLINICAL, CLINICAL, 3 * million,
                   config=cfg("ppo-clinical-cycle-3m"), cycle_weeks=3),
        RLBaseline("ppo-clinical-cycle-blind", "ppo", CLINICAL, CLINICAL, million, MONITORING,
                   config=cfg("ppo-clinical-cycle"), cycle_weeks=3),
        RLBaseline("ppo-clinical", "ppo", CLINICAL, CLINICAL, million,
                   config=cfg("ppo-clinical")),
        RLBaseline("ppo-clinical-blind", "ppo", CLINICAL, CLINICAL, million, MONITORING,
                   config=cfg("ppo-clinical")),
        RLBaseline("ppo", "ppo", FULL, FULL, million, config=cfg("ppo-full")),
    ]  # fmt: skip


def _quick(b: RLBaseline) -> RLBaseline:
    return dataclasses.replace(b, steps=2_048)


def _marker_name(b: RLBaseline, seed: int) -> str:
    return f"{b.name}__s{seed}__{b.steps}{'__tuned' if b.config else ''}.json"


def trained_model(b: RLBaseline, seed: int, root: Path) -> Path | None:
    """The finished model of (baseline, seed), or None."""
    marker = root / "runs" / _marker_name(b, seed)
    if marker.exists():
        return Path(json.loads(marker.read_text())["model"])
    return None


def train_stage(seeds: int, root: Path, quick: bool, only: list[str] | None = None) -> None:
    """Train every (seed, baseline) that has no finished model yet (``only``: those names)."""
    from tme_env.agents.train import TrainConfig, train
    from tme_env.io import atomic_write_json

    baselines = [(_quick(b) if quick else b) for b in rl_baselines()
                 if not only or b.name in only]  # fmt: skip
    for seed in range(seeds):
        for b in baselines:
            if trained_model(b, seed, root) is not None:
                continue
            t0 = time.perf_counter()
            run = train(TrainConfig(algo=b.algo, env_id=b.train_env, timesteps=b.decisions,
                                    cycle_weeks=b.cycle_weeks,
                                    seed=seed, out=str(root / "runs"), eval_every=10**12,
                                    eval_patients=4 if quick else 50, checkpoint_every=10**9,
                                    progress=False, blind=b.blind,
                                    config_file=b.config))  # fmt: skip
            wall = time.perf_counter() - t0
            atomic_write_json(root / "runs" / _marker_name(b, seed),
                              {"model": str(run / "model.zip"), "wall_s": wall})  # fmt: skip
            print(f"[train] {b.name} seed {seed}: {b.steps:,} weeks ({b.decisions:,} "
                  f"decisions) in {wall:.0f} s ({b.steps / wall:,.0f} weeks/s)",
                  flush=True)  # fmt: skip


TASKS = (CLINICAL, FULL)
#: Patients of the oracle's arm (its rollouts cost ~8 x 130 simulated weeks per patient-week).
ORACLE_PATIENTS = 100


def search_stage(root: Path, quick: bool) -> dict:
    """The best fixed schedule (train search, validation selection), once for both tasks.

    A fixed schedule observes nothing but the day, so one search serves both tasks: it runs in
    the headline (clinical) env, and the full task scores the same schedule. A full (not
    ``quick``) search writes its result to `BEST_FIXED_OUT` and says whether it differs from
    the package's copy, which only a commit that copies it there changes.
    """
    from tme_env.benchmark.baselines import BEST_FIXED_FILE, search_fixed_schedule
    from tme_env.io import atomic_write_json

    marker = root / "search.json"
    if marker.exists():
        return json.loads(marker.read_text())
    t0 = time.perf_counter()
    kw = dict(n_trials=36, n_train=4, n_validation=4, top_k=2) if quick else {}
    res = search_fixed_schedule(CLINICAL, seed=0, **kw)
    result = {**res.to_dict(), "wall_s": time.perf_counter() - t0}
    atomic_write_json(marker, result)
    print(f"[search] {res.best.name}: train {res.train_q_twist_months:.2f} mo, validation "
          f"{res.validation_q_twist_months:.2f} mo ({len(res.trials)} members, "
          f"{res.patient_episodes:,} patient-episodes, {result['wall_s']:.0f} s)",
          flush=True)  # fmt: skip
    if not quick:
        atomic_write_json(BEST_FIXED_OUT, {k: v for k, v in result.items() if k != "wall_s"})
        same = BEST_FIXED_OUT.read_bytes() == BEST_FIXED_FILE.read_bytes()
        print(f"[search] wrote {BEST_FIXED_OUT}: " + (
            "identical to the package's copy" if same else
            f"differs from the package's copy; to adopt it, copy it over {BEST_FIXED_FILE} in "
            "a commit (tests/test_baselines.py checks that the two are identical)"),
            flush=True)  # fmt: skip
    return result


def score_stage(seeds: int, root: Path, quick: bool, folder: Path,
                tasks: list[str] | None = None, rescore_oracle: bool = False) -> None:  # fmt: skip
    """Score every baseline of each task on the test split; write the leaderboard.

    Each task's results are kept in ``ROOT/scored__<task>.pkl``; with ``tasks`` given, the
    other tasks are read from there (scored earlier by this script) instead of re-run. The
    oracle's arm (the slowest: rollouts at every cycle) is reused from there when the best
    fixed schedule it plans around is the same, unless ``rescore_oracle``.
    """
    import pickle

    from tme_env.benchmark import BENCHMARK_ENV_IDS, run_benchmark
    from tme_env.benchmark.baselines import OracleMPC, ScheduleSearchResult
    from tme_env.io import atomic_write_bytes
    from tme_env.regimens import available
    from tme_env.regimens.family import ConstantDoses, FeedbackRule, ImmunotherapyFirstRule

    n_patients = 20 if quick else 500
    n_oracle = 2 if quick else ORACLE_PATIENTS
    lookahead = 12 if quick else None  # weeks after the planned cycle; None: to the horizon
    search = search_stage(root, quick)
    baselines = [(_quick(b) if quick else b) for b in rl_baselines()]
    out: dict[str, dict] = {}
    for task in TASKS:
        cache = root / f"scored__{task.replace('/', '_')}.pkl"
        if tasks is not None and task not in tasks:
            if cache.exists():
                out[task] = pickle.loads(cache.read_bytes())
            else:
                print(f"[score] {task} not scored yet: left out of the leaderboard", flush=True)
            continue
        best = dataclasses.replace(ScheduleSearchResult.from_dict(
            {k: v for k, v in search.items() if k != "wall_s"}).best,
            observation=BENCHMARK_ENV_IDS[task])  # fmt: skip
        subs: dict[str, list] = {n: [n] for n in available()}
        subs["best-fixed"] = [best]
        subs["everything-always"] = [ConstantDoses((1.0, 1.0, 1.0))]
        if task == CLINICAL:
            subs["feedback-rule"] = [FeedbackRule()]
            subs["immunotherapy-first"] = [ImmunotherapyFirstRule()]
        for b in baselines:
            if b.task != task:
                continue
            models = [trained_model(b, s, root) for s in range(seeds)]
            models = [m for m in models if m is not None]
            if models:
                subs[b.name] = [f"{b.name}={m}" for m in models]
        t0 = time.perf_counter()
        main = run_benchmark(subs, task, n_patients=n_patients, seed=0,
                             out=root / f"score__{task.replace('/', '_')}", overwrite=True,
                             progress=True)  # fmt: skip
        print(f"[score] {task}: {len(main.trial.arms)} arms x {n_patients} patients in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        t0 = time.perf_counter()
        earlier = pickle.loads(cache.read_bytes()) if cache.exists() and not rescore_oracle \
            else None  # fmt: skip
        if earlier is not None and earlier["search"] == search:
            oracle = earlier["oracle"]  # the same schedule: the oracle's arm is unchanged
            print(f"[score] {task}: oracle reused from {cache}", flush=True)
        else:
            oracle = run_benchmark(
                {"oracle-mpc": [OracleMPC(base=best, lookahead_weeks=lookahead)],
                 "best-fixed": [best]}, task, n_patients=n_oracle, seed=0,
                out=root / f"oracle__{task.replace('/', '_')}", overwrite=True,
                progress=True)  # fmt: skip
            print(f"[score] {task}: oracle on {n_oracle} patients in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        out[task] = {"main": main, "oracle": oracle, "search": search}
        atomic_write_bytes(cache, pickle.dumps(out[task]))
    write_leaderboard(out, folder, quick)


#: Where the trained reference agents are published: the repository's ``agents/`` folder.
AGENTS_OUT = ROOT.parent / "agents"


def publish_stage(seeds: int, root: Path, quick: bool, out: Path | None = None) -> list[Path]:
    """Publish every learned baseline with all its seeds as ``agents/<name>/``.

    Each folder gets the model and ``config.yml`` of every seed
    (`tme_env.agents.agent.write_agent_folder`), ``agent.json`` (algorithm, envs, budget,
    hyperparameters, the committed leaderboard row) and a card (``README.md``). Needs the
    ``score`` stage's ``leaderboard.json`` (the rows the cards quote).
    """
    import yaml

    from tme_env.agents.agent import write_agent_folder

    out = out or (Path(quick_scratch(root)) / "agents" if quick else AGENTS_OUT)
    board = json.loads((ROOT / "leaderboard.json").read_text()) if not quick else {}
    written = []
    for b in [(_quick(b) if quick else b) for b in rl_baselines()]:
        runs = {s: trained_model(b, s, root) for s in range(seeds)}
        if any(m is None for m in runs.values()):
            print(f"[publish] {b.name}: not every seed is trained; skipped", flush=True)
            continue
        row = next((r for r in board.get(b.task, {}).get("rows", [])
                    if r["submission"] == b.name), None)  # fmt: skip
        recorded = yaml.safe_load((runs[0].parent / "config.yml").read_text())
        meta = {
            "name": b.name, "algo": b.algo, "train_env": b.train_env, "task": b.task,
            "training_weeks": b.steps, "decisions": b.decisions, "cycle_weeks": b.cycle_weeks,
            "blind": list(b.blind), "hyperparameters": recorded["hyperparameters"],
            "config_file": (str(Path(b.config).relative_to(ROOT.parent)) if b.config else None),
            "leaderboard_row": row,
            "command": _train_command(b, "SEED"),
        }  # fmt: skip
        folder = write_agent_folder(out / b.name, meta,
                                    {s: m.parent for s, m in runs.items()},
                                    _card(meta, seeds))  # fmt: skip
        written.append(folder)
        print(f"[publish] wrote {folder}", flush=True)
    return written


def quick_scratch(root: Path) -> Path:
    """The quick run's scratch folder (beside its results)."""
    return root.parent


def _train_command(b: RLBaseline, seed: str) -> str:
    argv = ["tme", "train", "--algo", b.algo, "--env", b.train_env, "--timesteps",
            str(b.decisions), "--seed", seed]  # fmt: skip
    if b.config:
        argv += ["--config", str(Path(b.config).relative_to(ROOT.parent))]
    if b.cycle_weeks:
        argv += ["--cycle-weeks", str(b.cycle_weeks)]
    if b.blind:
        argv += ["--blind", "monitoring"]
    return " ".join(argv)


def _card(meta: dict[str, Any], seeds: int) -> str:
    """The agent's card (``README.md``)."""
    row = meta["leaderboard_row"]
    if row:
        score = (f"**{row['score_iqm']:.1f}** [{row['score_ci_low']:.1f}, "
                 f"{row['score_ci_high']:.1f}] (IQM over {row['n_seeds']} seeds, 95% CI; seed "
                 f"scores {', '.join(f'{s:.1f}' for s in row['seed_scores'])}); Q-TWiST "
                 f"{row['q_twist_months']:.2f} months, "
                 f"{row['q_twist_vs_best_standard_months']:+.2f} "
                 f"[{row['q_twist_vs_best_standard_ci_low']:+.2f}, "
                 f"{row['q_twist_vs_best_standard_ci_high']:+.2f}] vs the best standard "
                 f"regimen ({row['best_standard']}); meets the protocol: "
                 f"{'yes' if row['meets_protocol'] else 'no'}")  # fmt: skip
    else:
        score = "not scored yet"
    hyper = "\n".join(f"| `{k}` | `{v}` |" for k, v in meta["hyperparameters"].items())
    cycle = (f", one decision per {meta['cycle_weeks']}-week cycle "
             "(`tme_env.agents.cycle`, scored on the weekly task)" if meta["cycle_weeks"]
             else ", one decision per week")  # fmt: skip
    blind = (f"; blinded fields (read 0 in training and scoring): {', '.join(meta['blind'])}"
             if meta["blind"] else "")  # fmt: skip
    return f"""# {meta['name']}

A trained reference agent of the tme_env benchmark (`BENCHMARK.md`, protocol
`tme-benchmark-1`), generated by `python experiments/leaderboard.py publish`; do not edit.

- **Algorithm**: {meta['algo']} (stable-baselines3), trained on
  `{meta['train_env']}`{cycle}{blind}.
- **Task**: `{meta['task']}`.
- **Budget**: {meta['training_weeks']:,} simulated weeks per seed ({meta['decisions']:,}
  decisions), {seeds} seeds (0-{seeds - 1}), all published, the final model of each.
- **Observation normalisation**: the running statistics are stored inside each `model.zip`
  (entry `tme_normalization.json`) and applied by every loader.
- **Hyperparameters**: `{meta['config_file']}` over the package defaults; the tuning that
  chose them is described in `BENCHMARK.md` section 8.
- **Test score** (500 test patients, trial seed 0): {score}.

| hyperparameter | value |
|---|---|
{hyper}

## Use it

```bash
tme benchmark --policy agents/{meta['name']}   # all seeds, one submission: its row
tme evaluate --model agents/{meta['name']} --env {meta['task']}   # its first seed vs every regimen
```

```python
from tme_env.agents import load_agent
policy = load_agent("agents/{meta['name']}", seed=0)   # normalisation (and cycle) applied
action, _ = policy.predict(obs, deterministic=True)
```

## Reproduce it

```bash
{meta['command'].replace('SEED', '0')}   # seeds 0-{seeds - 1}
```

(`python experiments/leaderboard.py train --only {meta['name']}` trains all seeds.)
"""


#: Leaderboard kinds (the "kind" column).
KIND = {"best-fixed": "schedule search", "everything-always": "constant doses",
        "feedback-rule": "hand-written rule", "immunotherapy-first": "hand-written rule",
        "oracle-mpc": "oracle (not deployable)"}  # fmt: skip


def _kind(name: str, rl: dict[str, RLBaseline]) -> str:
    from tme_env.regimens import available

    if name in rl:
        b = rl[name]
        return f"RL: {b.algo}" + (" (monitoring blinded)" if b.blind else "") + (
            f", trained on {b.train_env.split('/')[1]}" if b.train_env != b.task else "")
    return "standard regimen" if name in available() else KIND.get(name, "")


def _gap(result: Any, a: str, b: str, reps: int = 10_000) -> tuple[float, float, float]:
    from tme_env.benchmark import paired_bootstrap_ci

    return paired_bootstrap_ci(result.q_twist_months(a), result.q_twist_months(b), reps=reps)


def _fmt_gap(g: tuple[float, float, float]) -> str:
    return f"{g[0]:+.2f} mo [{g[1]:+.2f}, {g[2]:+.2f}]"


def _row_line(r: dict, kind: str) -> str:
    steps = r.get("training_steps")
    train = f"{steps:,} x {r['n_seeds']}" if steps else ("-" if r["n_seeds"] == 1 else
                                                        f"? x {r['n_seeds']}")  # fmt: skip
    ci = (f"{r['score_iqm']:.1f} [{r['score_ci_low']:.1f}, {r['score_ci_high']:.1f}]"
          if r["n_seeds"] > 1 else f"{r['score_iqm']:.1f}")  # fmt: skip
    protocol = "yes" if r["meets_protocol"] else "no: " + "; ".join(r["deviations"])
    return (f"| {r['submission']} | {kind} | {train} | {ci} | {r['q_twist_months']:.2f} | "
            f"{r['q_twist_vs_best_standard_months']:+.2f} "
            f"[{r['q_twist_vs_best_standard_ci_low']:+.2f}, "
            f"{r['q_twist_vs_best_standard_ci_high']:+.2f}] | {r['rmst_os_months']:.1f} | "
            f"{r['median_os_months']:.1f} | {r['median_pfs_months']:.1f} | "
            f"{r['objective_response_rate']:.0%} | {r['grade3plus_neutropenia_rate']:.0%} | "
            f"{r['irae_rate']:.0%} ({r['irae_grade3plus_rate']:.0%}) | "
            f"{_percent(r.get('fraction_time_hot'))} | {protocol} |")


def _percent(value: float | None) -> str:
    """Time immune-hot as a percentage; "n/a" in rows scored before the column existed."""
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.0%}"


HEADER = ("| submission | kind | training steps x seeds | score IQM [95% CI] | Q-TWiST, mo | "
          "vs best standard, mo [95% CI] | RMST, mo | median OS, mo | median PFS, mo | ORR | "
          "G>=3 neutropenia | irAE (G>=3) | time hot | meets protocol |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip


def write_leaderboard(out: dict[str, dict], folder: Path, quick: bool) -> None:
    """``leaderboard.md``, ``leaderboard.json`` and ``figures/leaderboard_profile.png``."""
    from tme_env.io import atomic_write_json, atomic_write_text

    rl = {b.name: b for b in rl_baselines()}
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Leaderboard (`tme-benchmark-1`)" + (" - QUICK, not a result" if quick else ""),
        "",
        "Generated by `python experiments/leaderboard.py` (protocol: `BENCHMARK.md`); do not "
        "edit. Every row is a `tme benchmark` row: test split, paired patients, trial seed 0, "
        "score 0 = no treatment and 100 = the best standard regimen of the same trial (mean "
        "Q-TWiST over 5 years), IQM over seeds with its 95% stratified-bootstrap CI, and the "
        "paired patient-level 95% CI of the Q-TWiST difference to the best standard regimen. "
        "Learned policies: the final model of each seed (no checkpoint selection), published "
        "with their cards in `agents/<name>/` (`tme benchmark --policy agents/<name>` "
        "reproduces a row); observations normalised; the clinical PPOs with the settings "
        "`experiments/agents_study.py` selected on validation (`figures/agents.md`; the "
        "blinded ones use the unblinded one's), the full-task PPO with those "
        "`experiments/tune_agents.py` tuned on validation (v1, `figures/tuning.md`). Training "
        "steps are simulated weeks (a per-cycle agent decides every 3 weeks); the 1M track is "
        "the protocol's, the 3M track the longer one of `BENCHMARK.md` section 3.",
        "",
    ]
    data: dict[str, Any] = {}
    for task, parts in out.items():
        main, oracle, search = parts["main"], parts["oracle"], parts["search"]
        rows = sorted(main.rows, key=lambda r: -r["score_iqm"])
        o_row = next(r for r in oracle.rows if r["submission"] == "oracle-mpc")
        n_o = o_row["n_patients"]
        learned = [r for r in rows if r["submission"] in rl]
        tracks: dict[Any, str] = {}  # track (millions of weeks) -> its best learned row
        for r in learned:
            steps = r.get("training_steps")
            tracks.setdefault(round(steps / 1e6) if steps else None, r["submission"])
        lines += [f"## {task} ({main.rows[0]['observation']} observation, "
                  f"{main.rows[0]['n_patients']} test patients)", "", HEADER]
        lines += [_row_line(r, _kind(r["submission"], rl)) for r in rows]
        lines += ["", f"Oracle MPC (`tme_env.benchmark.baselines.OracleMPC`, base schedule "
                  f"`{search['best_name']}`) on the first {n_o} test patients (its rollouts "
                  "cost about 8 x 130 simulated weeks per patient-week), with the best fixed "
                  "schedule and the standard regimens on the same patients:", "", HEADER]
        lines += [_row_line(r, _kind(r["submission"], rl)) for r in
                  sorted(oracle.rows, key=lambda r: -r["score_iqm"])]  # fmt: skip
        gaps = {"oracle-mpc - best-fixed": _gap(oracle, "oracle-mpc", "best-fixed")}
        for millions, name in sorted(tracks.items(), key=lambda kv: kv[0] or 0):
            track = f"the {millions}M track" if millions else "an unknown budget"
            gaps[f"best learned on {track} ({name}) - best-fixed"] = _gap(main, name,
                                                                         "best-fixed")  # fmt: skip
            gaps[f"best learned on {track} ({name}) - immunotherapy-first"] = (
                _gap(main, name, "immunotherapy-first") if "immunotherapy-first" in main.seeds
                else None)  # fmt: skip
            if gaps[f"best learned on {track} ({name}) - immunotherapy-first"] is None:
                del gaps[f"best learned on {track} ({name}) - immunotherapy-first"]
        for rule in ("feedback-rule", "immunotherapy-first"):
            if rule in main.seeds:
                gaps[f"{rule} - best-fixed"] = _gap(main, rule, "best-fixed")
        for name in ("ppo-clinical-cycle", "ppo-clinical", "recurrentppo"):
            if name in main.seeds and f"{name}-blind" in main.seeds:
                gaps[f"{name} - {name}-blind (value of the monitoring)"] = _gap(
                    main, name, f"{name}-blind")  # fmt: skip
        lines += ["", "Paired Q-TWiST differences (per patient, the mean over seeds; 95% "
                  "patient-bootstrap CI):", ""]
        lines += [f"- {k}: {_fmt_gap(v)}" for k, v in gaps.items()]
        lines += ["", f"Best fixed schedule: `{search['best_name']}`, selected on "
                  f"{search['n_validation']} validation patients among the train top "
                  f"{len(search['top'])} of {len(search['trials'])} family members searched "
                  f"(optuna TPE, seed {search['seed']}, {search['n_train']} train patients "
                  f"each, in the clinical env; one search serves both tasks, as a fixed "
                  f"schedule observes only the day; {search['patient_episodes']:,} "
                  "patient-episodes): train "
                  f"{search['train_q_twist_months']:.2f} mo, validation "
                  f"{search['validation_q_twist_months']:.2f} mo.", ""]
        data[task] = {"rows": main.rows, "oracle_rows": oracle.rows,
                      "gaps": {k: list(v) for k, v in gaps.items()},
                      "best_fixed": {k: v for k, v in search.items() if k != "trials"}}
    figures = folder / "figures" if not quick else folder
    figure = figures / "leaderboard_profile.png"
    _profile_figure(out, figure, reps=50 if quick else 2000)
    lines += [f"![performance profiles]({figure.relative_to(folder).as_posix()})", ""]
    for task, parts in out.items():
        learned = [r for r in sorted(parts["main"].rows, key=lambda r: -r["score_iqm"])
                   if r["submission"] in rl]  # fmt: skip
        if learned:
            name = learned[0]["submission"]
            tag = "clinical" if task == CLINICAL else "full"
            path = figures / f"leaderboard_doses_{tag}.png"
            _dose_figure(parts["main"], name, task, path)
            lines += [f"What the best learned policy of {task} ({name}, its first seed) gives:",
                      "", f"![doses]({path.relative_to(folder).as_posix()})", ""]
    atomic_write_text(folder / "leaderboard.md", "\n".join(lines))
    atomic_write_json(folder / "leaderboard.json", data)
    print(f"[score] wrote {folder / 'leaderboard.md'}", flush=True)


def _dose_figure(result: Any, name: str, task: str, path: Path) -> None:
    """Heat maps of the weekly doses of a submission's first seed on the test patients."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tme_env.io import atomic_savefig

    arm = result.seeds[name][0]
    doses = result.trial.arms[arm].weekly_doses  # (patients, weeks, 3)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    for ax, j, drug in zip(axes, range(3), ("chemotherapy", "anti-PD-1", "inhibitor"),
                           strict=True):  # fmt: skip
        im = ax.imshow(doses[:, :, j], aspect="auto", vmin=0, vmax=1, cmap="viridis",
                       interpolation="nearest")  # fmt: skip
        ax.set_title(drug)
        ax.set_xlabel("week")
    axes[0].set_ylabel("patient (test split)")
    fig.colorbar(im, ax=axes, fraction=0.02, label="dose fraction given (white: after death)")
    fig.suptitle(f"{task}: what {arm} gives, week by week")
    atomic_savefig(fig, path, dpi=80)
    plt.close(fig)


def _profile_figure(out: dict[str, dict], path: Path, reps: int = 2000) -> None:
    """Per task: the rliable performance profile (fraction of seeds with score > tau).

    ``reps``: bootstrap resamples of its CIs (rliable's; minutes at 2000 on 2 cores).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rliable import library as rly

    from tme_env.io import atomic_savefig

    fig, axes = plt.subplots(1, len(out), figsize=(6.5 * len(out), 4.5), squeeze=False)
    taus = np.linspace(-20, 160, 181)
    for ax, (task, parts) in zip(axes[0], out.items(), strict=True):
        main = parts["main"]
        rows = sorted(main.rows, key=lambda r: -r["score_iqm"])[:12]
        scores = {r["submission"]: np.asarray(r["seed_scores"], dtype=float)[:, None]
                  for r in rows}  # fmt: skip
        profiles, cis = rly.create_performance_profile(scores, taus, reps=reps)
        for name in scores:
            line, = ax.plot(taus, profiles[name], label=name, lw=1.6)
            if scores[name].shape[0] > 1:
                ax.fill_between(taus, cis[name][0], cis[name][1], alpha=0.15,
                                color=line.get_color())  # fmt: skip
        ax.axvline(100, color="k", lw=0.8, ls=":")
        ax.set(title=task, xlabel="benchmark score tau (100 = best standard regimen)",
               ylabel="fraction of seeds with score > tau", ylim=(-0.02, 1.02))  # fmt: skip
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run the stages named on the command line (all three by default)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stages", nargs="*", metavar="STAGE",
                    help="train, search and/or score (default: all three, in order)")
    ap.add_argument("--seeds", type=int, default=5, help="training seeds per RL baseline")
    ap.add_argument("--only", action="append", default=None, metavar="NAME",
                    help="train only this RL baseline (repeat)")
    ap.add_argument("--task", action="append", default=None, choices=TASKS,
                    help="score only this task (repeat); the others are read from their "
                         "earlier scoring")  # fmt: skip
    ap.add_argument("--rescore-oracle", action="store_true",
                    help="re-run the oracle's arm even if an earlier scoring has it")  # fmt: skip
    ap.add_argument("--root", default=None,
                    help="results folder (experiments/results/leaderboard)")  # fmt: skip
    ap.add_argument("--out", default=None, help="folder of leaderboard.md (experiments/)")
    args = quick.parse_args(ap, argv, __file__, sizes={"seeds": 1},
                            outputs={"root": "results", "out": "board"})  # fmt: skip
    bad = sorted(set(args.stages) - {"train", "search", "score", "publish"})
    if bad:
        ap.error(f"unknown stage(s) {bad}; valid: train, search, score, publish")
    args.stages = args.stages or ["train", "search", "score", "publish"]
    root = Path(args.root) if args.root else ROOT / "results" / "leaderboard"
    root.mkdir(parents=True, exist_ok=True)
    if "train" in args.stages:
        train_stage(args.seeds, root, args.quick, args.only)
    if "search" in args.stages:
        search_stage(root, args.quick)
    if "score" in args.stages:
        folder = Path(args.out) if args.out else ROOT
        score_stage(args.seeds, root, args.quick, folder, args.task, args.rescore_oracle)
    if "publish" in args.stages:
        publish_stage(args.seeds, root, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
