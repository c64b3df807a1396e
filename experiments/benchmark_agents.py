"""Learned vs standard: PPO, A2C, SAC, DQN and RecurrentPPO against every standard regimen.

Each algorithm is trained with 3 seeds at a stated budget (below), then every trained policy
and every standard regimen treats the same 500 patients of the test split (paired virtual
trial). Reported per algorithm: mean ± standard deviation over seeds of the benchmark score,
median OS, RMST, response rate, grade >= 3 neutropenia and fraction of time hot; plus a heat
map of what the best PPO policy doses over time.

RecurrentPPO trains and is evaluated on the clinical (partially observed) environment, so its
comparison uses a trial of the regimens on that environment; DQN trains on the discrete
environment and is evaluated on the full one through its dose table.

Trained runs are kept under ``experiments/results/agents`` and reused: an interrupted run
resumes with the policies it has (a finished training leaves ``model.zip``).

Usage::

    python experiments/benchmark_agents.py [--quick] [--patients 500]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

import numpy as np

from tme_env import regimens
from tme_env.agents.callbacks import DiscreteDoses
from tme_env.agents.loader import load_sb3_model
from tme_env.agents.train import TrainConfig, train
from tme_env.trials import run_trial, summarise

#: algorithm -> (training env, timesteps)
BUDGETS = {
    "ppo": ("tme/TumorImmune-v1", 300_000),
    "a2c": ("tme/TumorImmune-v1", 300_000),
    "sac": ("tme/TumorImmune-v1", 30_000),
    "dqn": ("tme/TumorImmuneDiscrete-v1", 100_000),
    "recurrentppo": ("tme/TumorImmuneClinical-v1", 100_000),
}
QUICK = {algo: (env, 2_048) for algo, (env, _) in BUDGETS.items()}
METRICS = ("benchmark_score", "median_os_months", "rmst_os_months", "objective_response_rate",
           "grade3plus_neutropenia_rate", "fraction_time_hot")  # fmt: skip


def trained_model(algo: str, env_id: str, steps: int, seed: int, root: Path) -> Path:
    """The model of (algo, seed), trained now unless a finished run exists."""
    done = root / f"{algo}__{seed}__{steps}.json"
    if done.exists():
        return Path(json.loads(done.read_text())["model"])
    run = train(TrainConfig(algo=algo, env_id=env_id, timesteps=steps, seed=seed, out=str(root),
                            eval_every=10**12, eval_patients=50, progress=False))  # fmt: skip
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps({"model": str(run / "model.zip")}))
    os.replace(tmp, done)
    return run / "model.zip"


def main(argv: list[str] | None = None) -> int:
    """Train (or reuse), run the trials, write the table and the dose heat map."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny budgets, 1 seed, 60 patients")
    ap.add_argument("--patients", type=int, default=500)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--results", default="experiments/results/agents")
    ap.add_argument("--out", default="experiments/figures/agents_benchmark")
    args = ap.parse_args(argv)
    budgets = QUICK if args.quick else BUDGETS
    seeds = range(1 if args.quick else args.seeds)
    patients = 60 if args.quick else args.patients
    root = Path(args.results + ("_quick" if args.quick else ""))
    root.mkdir(parents=True, exist_ok=True)

    rows: list[dict] = []
    per_algo: dict[str, list[dict]] = {}
    best_ppo = None
    for observation, trial_env in (("full", "tme/TumorImmune-v1"),
                                   ("clinical", "tme/TumorImmuneClinical-v1")):  # fmt: skip
        policies = {n: regimens.get(n, observation=observation) for n in regimens.available()}
        clinical = observation == "clinical"
        learners = [a for a, (env, _) in budgets.items() if ("Clinical" in env) == clinical]
        for algo in learners:
            env_id, steps = budgets[algo]
            for seed in seeds:
                model = load_sb3_model(str(trained_model(algo, env_id, steps, seed, root)))
                policies[f"{algo}-s{seed}"] = DiscreteDoses(model) if algo == "dqn" else model
        result = run_trial(policies, env_id=trial_env, split="test", n_patients=patients, seed=0)
        summary = summarise(result, reference="mtd-chemo")
        for r in summary:
            r["trial_env"] = trial_env
            algo = r["arm"].split("-s")[0] if "-s" in r["arm"] else None
            if algo in budgets:
                per_algo.setdefault(algo, []).append(r)
                better = best_ppo is None or r["benchmark_score"] > best_ppo[0]["benchmark_score"]
                if algo == "ppo" and better:
                    best_ppo = (r, result.arms[r["arm"]])
            elif observation == "full":
                rows.append({"policy": r["arm"], "budget": "-", "seeds": "-", **{
                    m: f"{r[m]:.3g}" for m in METRICS}})  # fmt: skip
    for algo, results in per_algo.items():
        env_id, steps = budgets[algo]
        row = {"policy": f"{algo} ({env_id.split('/')[1]})", "budget": f"{steps:,}",
               "seeds": len(results)}  # fmt: skip
        for m in METRICS:
            v = np.array([r[m] for r in results], dtype=float)
            row[m] = (
                f"{np.mean(v):.3g} ± {np.std(v):.2g}" if np.all(np.isfinite(v)) else "not reached"
            )
        rows.append(row)

    out = Path(args.out + ("_quick" if args.quick else ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(str(out) + ".csv.tmp", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(str(out) + ".csv.tmp", str(out) + ".csv")
    header = "| policy | budget | seeds | " + " | ".join(METRICS) + " |"
    lines = [header, "|" + "---|" * (3 + len(METRICS))]
    lines += ["| " + " | ".join(str(r[k]) for k in ["policy", "budget", "seeds", *METRICS]) + " |"
              for r in rows]  # fmt: skip
    (Path(str(out) + ".md")).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    if best_ppo is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        doses = best_ppo[1].weekly_doses  # (patients, weeks, 3)
        fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
        for ax, j, name in zip(axes, range(3), ("chemotherapy", "anti-PD-1", "inhibitor"),
                               strict=True):  # fmt: skip
            im = ax.imshow(doses[:, :, j], aspect="auto", vmin=0, vmax=1, cmap="viridis",
                           interpolation="nearest")  # fmt: skip
            ax.set_title(name)
            ax.set_xlabel("week")
        axes[0].set_ylabel("patient (test split)")
        fig.colorbar(im, ax=axes, fraction=0.02, label="dose fraction")
        fig.suptitle(f"What the best PPO policy ({best_ppo[0]['arm']}) gives, week by week")
        fig.savefig(str(out) + "_ppo_doses.png", dpi=80)
        plt.close(fig)
        print(f"wrote {out}.md, {out}.csv, {out}_ppo_doses.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
