"""Offline RL on logged treatment data, and off-policy evaluation checked against the truth.

1. Log the ``clinician-mixed`` behaviour on the train split (the training dataset) and on
   test-split patients (the evaluation dataset), as Minari datasets in a temporary folder
   (``--data`` to keep them).
2. Train the d3rlpy baselines (BC, CQL, IQL; discrete CQL on the behaviour's dose levels) on
   the training dataset.
3. Benchmark protocol: a virtual trial (`tme_env.trials.run_trial`) of every baseline, the
   behaviour policy itself and reference regimens on the test split.
4. OPE: FQE (each baseline) and per-decision WIS with the logged propensities (the discrete
   policy, and the deterministic ``chemo-ici-inhibitor`` profile the behaviour contains),
   each estimated from the evaluation dataset alone and compared with the true value
   simulated on the same patients with the same seeds.

Writes ``experiments/offline/offline_rl.{md,json}`` and ``experiments/figures/offline_rl.png``
(``--out`` moves the tables and figure; ``--quick`` is a smoke run with tiny budgets, written
under ``--out`` or else ``$TMPDIR/tme-quick/offline_rl/``, never over the committed results).
A table that differs from the new one only in the run time is kept, so a rerun leaves the
tracked files alone.

Usage::

    python experiments/offline_rl.py            # a few minutes on 2 cores
    python experiments/offline_rl.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import quick  # noqa: E402 - experiments/quick.py: the --quick scratch folder

from tme_env.io import atomic_savefig, atomic_write_text_unless_only, json_safe  # noqa: E402
from tme_env.offline import ENV_IDS, ClinicianBehaviour, behaviour, policy_returns  # noqa: E402
from tme_env.offline.baselines import GAMMA, train_baseline  # noqa: E402
from tme_env.offline.dataset import episodes_from_minari, write_dataset  # noqa: E402
from tme_env.offline.ope import (  # noqa: E402
    fitted_q_evaluation,
    on_policy_value,
    profile_levels,
    weighted_is,
)
from tme_env.regimens import get as get_regimen  # noqa: E402
from tme_env.trials import run_trial, summarise  # noqa: E402

ROOT = Path(__file__).resolve().parent
#: Budgets: (train patients, eval patients, trial patients, gradient steps, FQE steps).
BUDGETS = {"default": (300, 150, 200, 2000, 2000), "quick": (12, 10, 10, 30, 30)}
BEHAVIOUR = "clinician-mixed"
IN_SUPPORT_PROFILE = "chemo-ici-inhibitor"


#: The run time in the tables (markdown "; 1.7 min." and JSON "minutes"): the fields a rerun
#: changes without a result changing.
TIMING = re.compile(r'(; )\d+(?:\.\d+)?( min\.)|("minutes": )[^,\n]+')


def write_unless_only_timing(path: str | os.PathLike, text: str) -> bool:
    """Write ``text`` atomically unless the file differs from it only in `TIMING`."""
    return atomic_write_text_unless_only(path, text, TIMING)


def _fmt(x: float, spec: str = ".2f") -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, spec)


def main() -> None:
    """Run the experiment (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny budgets (smoke test)")
    ap.add_argument("--seed", type=int, default=0, help="seed of data, learners and bootstrap")
    ap.add_argument("--out", default=None, help="folder of the tables and figure")
    ap.add_argument("--data", default=None, help="Minari datasets folder (default: temporary)")
    args = ap.parse_args()
    n_train, n_eval, n_trial, steps, fqe_steps = BUDGETS["quick" if args.quick else "default"]
    if args.quick and args.out is None:  # the committed results come from a full run
        args.out = str(quick.scratch(__file__))
    out_tables = Path(args.out) if args.out else ROOT / "offline"
    out_fig = Path(args.out) if args.out else ROOT / "figures"
    data = args.data or tempfile.mkdtemp(prefix="tme_offline_")
    t0 = time.time()
    obs = "full"
    env_id = ENV_IDS[obs]
    spec = behaviour(BEHAVIOUR)
    print(f"1/4 logging {BEHAVIOUR}: {n_train} train + {n_eval} test patients -> {data}")
    tag = f"s{args.seed}-{int(time.time())}"
    train_ds = write_dataset(f"tme/offline/{BEHAVIOUR}-train-{tag}-v0", BEHAVIOUR, obs, "train",
                             n_train, seed=args.seed, root=data, progress=True)  # fmt: skip
    eval_ds = write_dataset(f"tme/offline/{BEHAVIOUR}-test-{tag}-v0", BEHAVIOUR, obs, "test",
                            n_eval, seed=args.seed, root=data, progress=True)  # fmt: skip
    train_eps = list(episodes_from_minari(train_ds))
    eval_eps = list(episodes_from_minari(eval_ds))

    print(f"2/4 training BC, CQL, IQL, discrete CQL ({steps} steps each)")
    learned = {}
    for name in ("bc", "cql", "iql", "discrete-cql"):
        t = time.time()
        learned[name] = train_baseline(name, train_eps, n_steps=steps, seed=args.seed)
        print(f"    {name}: {time.time() - t:.0f} s")

    print(f"3/4 virtual trial on {n_trial} test patients")
    behaviour_policy = ClinicianBehaviour(spec, obs, seed=args.seed + 1)
    arms = {"no-treatment": get_regimen("no-treatment", obs),
            "mtd-chemo": get_regimen("mtd-chemo", obs),
            "chemo-ici-inhibitor": get_regimen("chemo-ici-inhibitor", obs),
            f"behaviour ({BEHAVIOUR})": behaviour_policy,
            **{f"{k} (offline)": v for k, v in learned.items()}}  # fmt: skip
    trial = run_trial(arms, env_id=env_id, split="test", n_patients=n_trial, seed=args.seed,
                      progress=True)  # fmt: skip
    rows = summarise(trial, reference="mtd-chemo")
    trial_returns = {name: policy_returns(pol, env_id, "test", n_trial, args.seed, GAMMA)
                     for name, pol in arms.items()
                     if not isinstance(pol, ClinicianBehaviour)}  # fmt: skip

    print(f"4/4 OPE on {n_eval} logged test patients vs the simulated truth")
    profile_k = next(k for k, p in enumerate(spec.profiles)
                     if p.label == IN_SUPPORT_PROFILE)  # fmt: skip
    profile_spec = spec.single(profile_k)
    targets = {f"{k} (offline)": v for k, v in learned.items()}
    targets[f"profile {IN_SUPPORT_PROFILE}"] = ClinicianBehaviour(profile_spec, obs)
    ope_rows = []
    for name, pol in targets.items():
        truth = policy_returns(pol, env_id, "test", n_eval, args.seed, GAMMA)["return"]
        se = truth.std(ddof=1) / np.sqrt(len(truth))
        row = {"policy": name, "truth": float(truth.mean()),
               "truth_ci_low": float(truth.mean() - 1.96 * se),
               "truth_ci_high": float(truth.mean() + 1.96 * se)}  # fmt: skip
        if hasattr(pol, "algo"):
            row["fqe"] = fitted_q_evaluation(pol, eval_eps, n_steps=fqe_steps, gamma=GAMMA,
                                             seed=args.seed)  # fmt: skip
        if getattr(pol, "discrete", False):
            levels = [pol.levels(e.observations[:-1]) for e in eval_eps]
            row["wis"] = weighted_is(eval_eps, levels, GAMMA, seed=args.seed)
        if isinstance(pol, ClinicianBehaviour):
            row["wis"] = weighted_is(eval_eps, profile_levels(profile_spec, obs, eval_eps),
                                     GAMMA, seed=args.seed)  # fmt: skip
        ope_rows.append(row)
    own_truth = policy_returns(ClinicianBehaviour(spec, obs, seed=args.seed + 7), env_id,
                               "test", n_eval, args.seed, GAMMA)["return"]  # fmt: skip
    se = own_truth.std(ddof=1) / np.sqrt(len(own_truth))
    ope_rows.append({"policy": f"behaviour ({BEHAVIOUR}), on-policy mean",
                     "truth": float(own_truth.mean()),
                     "truth_ci_low": float(own_truth.mean() - 1.96 * se),
                     "truth_ci_high": float(own_truth.mean() + 1.96 * se),
                     "wis": on_policy_value(eval_eps, GAMMA, seed=args.seed)})  # fmt: skip
    elapsed = time.time() - t0

    # --- tables ------------------------------------------------------------------------------
    score_key = "benchmark_score"
    lines = [
        "# Offline RL on logged treatment data (`experiments/offline_rl.py`)", "",
        f"Env `{env_id}`, behaviour `{BEHAVIOUR}` ({len(spec.profiles)} clinician profiles, "
        f"exploration {spec.epsilon:g}); training data {n_train} train-split patients "
        f"({train_ds.total_steps} decisions), evaluation data {n_eval} test-split patients; "
        f"{steps} gradient steps per learner, {fqe_steps} FQE steps, discount {GAMMA}, "
        f"seed {args.seed}; {elapsed / 60:.1f} min.", "",
        f"## Benchmark protocol: virtual trial, {n_trial} test patients per arm", "",
        "| arm | median OS, mo | RMST, mo | ORR | G>=3 neutropenia | score | "
        "discounted return |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in rows:
        ret = trial_returns.get(r["arm"])
        lines.append(
            f"| {r['arm']} | {_fmt(r['median_os_months'], '.1f')} | "
            f"{_fmt(r['rmst_os_months'], '.1f')} | {r['objective_response_rate']:.0%} | "
            f"{r['grade3plus_neutropenia_rate']:.0%} | {_fmt(r.get(score_key), '.0f')} | "
            f"{_fmt(None if ret is None else ret['return'].mean())} |"
        )
    lines += [
        "", f"## Off-policy evaluation vs the simulated truth ({n_eval} logged test patients)",
        "",
        "Value = mean discounted return (discount 0.95 per weekly decision). Truth: the "
        "policy simulated on the same patients and seeds (95% CI: normal, over patients). "
        "Estimate CIs: percentile bootstrap over episodes (FQE: over first observations of "
        "one fit). ESS: effective sample size of the final WIS weights.", "",
        "| policy | truth [95% CI] | FQE [95% CI] | FQE error | WIS [95% CI] | WIS error | "
        "WIS ESS |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in ope_rows:
        truth = f"{r['truth']:.2f} [{r['truth_ci_low']:.2f}, {r['truth_ci_high']:.2f}]"
        cells = []
        for key in ("fqe", "wis"):
            e = r.get(key)
            if e is None:
                cells += ["n/a", "n/a"]
            else:
                cells += [f"{_fmt(e['estimate'])} [{_fmt(e['ci_low'])}, {_fmt(e['ci_high'])}]",
                          _fmt(e["estimate"] - r["truth"], "+.2f")]  # fmt: skip
        ess = r.get("wis", {}).get("ess")
        lines.append(f"| {r['policy']} | {truth} | {' | '.join(cells)} | {_fmt(ess, '.1f')} |")
    lines += ["", "n/a: WIS needs a target whose actions lie on the logged dose levels "
              "(continuous BC/CQL/IQL have none); FQE needs a Markov target (the profile "
              "policy keeps regimen bookkeeping)."]  # fmt: skip
    text = "\n".join(lines) + "\n"
    record = {
        "env_id": env_id, "behaviour": spec.to_dict(), "seed": args.seed, "gamma": GAMMA,
        "budgets": dict(zip(("train_patients", "eval_patients", "trial_patients", "steps",
                             "fqe_steps"), BUDGETS["quick" if args.quick else "default"],
                            strict=True)),
        "trial": rows, "ope": ope_rows, "minutes": elapsed / 60}  # fmt: skip
    json_text = json.dumps(json_safe(record), indent=2, allow_nan=False) + "\n"
    for name, content in (("offline_rl.md", text), ("offline_rl.json", json_text)):
        if not write_unless_only_timing(out_tables / name, content):
            print(f"{name} kept: only its run time differs")

    # --- figure --------------------------------------------------------------------------------
    fig, ax = plt.subplots(figsize=(8, 4))
    y = np.arange(len(ope_rows))
    for key, color, dy in (("truth", "k", 0.0), ("fqe", "tab:blue", 0.2),
                                          ("wis", "tab:orange", -0.2)):  # fmt: skip
        for i, r in enumerate(ope_rows):
            if key == "truth":
                est, lo, hi = r["truth"], r["truth_ci_low"], r["truth_ci_high"]
            elif key in r and np.isfinite(r[key]["estimate"]):
                est, lo, hi = r[key]["estimate"], r[key]["ci_low"], r[key]["ci_high"]
            else:
                continue
            ax.errorbar(est, i + dy, xerr=[[est - lo], [hi - est]], fmt="o", color=color,
                        capsize=3, label=key if i == 0 or key not in ope_rows[0] else None)
    ax.set_yticks(y, [r["policy"] for r in ope_rows], fontsize=8)
    ax.set_xlabel(f"value (discounted return, gamma {GAMMA})")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=True))
    ax.legend(uniq.values(), uniq.keys(), fontsize=8)
    ax.set_title("Off-policy estimates vs simulated truth (95% CIs)")
    fig.tight_layout()
    atomic_savefig(fig, out_fig / "offline_rl.png")
    plt.close(fig)
    print("\n" + text)
    if args.data is None:
        shutil.rmtree(data, ignore_errors=True)
        kept = "the temporary datasets were removed (--data DIR keeps them)"
    else:
        kept = f"datasets in {data}"
    print(f"wrote {out_tables / 'offline_rl.md'}, {out_fig / 'offline_rl.png'} "
          f"({elapsed / 60:.1f} min); {kept}")


if __name__ == "__main__":
    main()
