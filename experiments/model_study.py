"""Model study (v2): does the mechanism carry the harm, and does adaptive treatment pay?

Every figure is measured, none is tuned to come out one way:

1. **Knockouts** (open-loop MTD chemotherapy, ``validation`` split): switching off each MDSC
   term (T-cell suppression: recruitment, killing and exhaustion; damage-driven recruitment;
   growth promotion, which the model sets to 0 for lack of a source) and the immune killing
   of the resistant clone, the change in RMST and in median PFS (time to relapse).
2. **No trivial optimum**: the 36 fixed schedules of `tme_env.regimens.family.FixedSchedule`
   (chemo 0/4/6 cycles x anti-PD-1 weekly/q3w/q6w/none x inhibitor continuous/chemo
   weeks/none) plus constant actions, searched on ``train`` by mean Q-TWiST in the clinical
   env; the best one and everything-always (``[1, 1, 1]`` every week) are then evaluated on
   ``test``.
3. **Adaptivity**: the hand-written `FeedbackRule` (clinical observation only) against the
   best fixed schedule on ``test``: the paired Q-TWiST margin with a bootstrap 95% CI.
4. **Monitoring value**: a per-patient oracle over the standard regimens against the best
   single regimen (``test``), and how well the clinical readouts (day-21 blood MDSC rise,
   baseline biopsy CD8:MDSC ratio) predict who benefits from the inhibitor and from
   anti-PD-1 (ROC AUCs).
5. **Sequencing**: delayed anti-PD-1 (chemo-then-ici) against concurrent, per phenotype
   subgroup (mean Q-TWiST and RMST difference).

Usage::

    python experiments/model_study.py [--train 150] [--test 300] [--out experiments/figures]
        [--quick]

Writes ``model_study.json`` and ``model_study.md`` atomically; a JSON file that differs from
the new one only in its run time (``elapsed_s``) is kept, so a rerun leaves the tracked files alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import time

import numpy as np
import quick  # experiments/quick.py: the --quick flag

from tme_env.clinical import DAYS_PER_MONTH, HORIZON_DAYS
from tme_env.envs import CLINICAL_ENV_ID, observation_fields
from tme_env.envs.vector import TumorImmuneVectorEnv
from tme_env.io import atomic_write_text_unless_only, json_safe
from tme_env.models.tme import TMEParameters
from tme_env.patients import cohort
from tme_env.regimens import available, get, schedules
from tme_env.regimens.family import ConstantDoses, FeedbackRule, FixedSchedule
from tme_env.trials import km_median, run_schedule, run_trial
from tme_env.trials.survival import rmst

#: The run time in the JSON text: the one field a rerun changes without a result changing.
TIMING = re.compile(r'("elapsed_s": )[^,\n]+')


def write_unless_only_timing(path: str | os.PathLike, text: str) -> bool:
    """Write ``text`` atomically unless the file differs from it only in `TIMING`."""
    return atomic_write_text_unless_only(path, text, TIMING)


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """ROC AUC of ``score`` for the binary ``label`` (Mann-Whitney, ties count half)."""
    pos, neg = score[label], score[~label]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def _bootstrap(diff: np.ndarray, rng: np.random.Generator, n: int = 2000) -> tuple[float, ...]:
    """Mean of the paired differences with a percentile bootstrap 95% CI."""
    means = np.array([rng.choice(diff, diff.size).mean() for _ in range(n)])
    return float(diff.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def knockouts(n: int) -> dict:
    """RMST and median PFS of open-loop MTD chemo with each mechanism switched off."""
    base = TMEParameters()
    variants = {
        "v2 model": {},
        "no MDSC suppression of T cells": {
            "mdsc_half_suppression_recruit": 1e30, "mdsc_half_suppression_kill": 1e30,
            "mdsc_exhaustion_promotion": 0.0,
        },
        "no MDSC suppression of killing only": {"mdsc_half_suppression_kill": 1e30},
        "no damage-driven MDSC recruitment": {"mdsc_damage_recruitment": 0.0},
        "MDSC growth promotion (pi_M = 1, unsourced)": {"mdsc_growth_promotion": 1.0},
        "no immune killing of resistant cells": {"resistant_immune_visibility": 0.0},
    }  # fmt: skip
    out = {}
    for label, overrides in variants.items():
        c = cohort("validation", n, base=base.replace(**overrides))
        arm = run_schedule(c, schedules.chemo_q3w(HORIZON_DAYS), HORIZON_DAYS)
        out[label] = {
            "rmst_months": rmst(arm.os_days, arm.os_event, HORIZON_DAYS) / DAYS_PER_MONTH,
            "median_pfs_months": (
                min(km_median(arm.pfs_days, arm.pfs_event), HORIZON_DAYS) / DAYS_PER_MONTH
            ),
            "resistant_fraction_at_progression": float(np.median(
                [arm.state("R")[i, int(d)] / max(arm.burden[i, int(d)], 1.0)
                 for i, d in enumerate(arm.pfs_days) if arm.pfs_event[i]] or [np.nan])),
        }  # fmt: skip
        print(f"  knockout {label:<45} RMST {out[label]['rmst_months']:5.1f} mo, "
              f"median PFS {out[label]['median_pfs_months']:5.1f} mo", flush=True)  # fmt: skip
    return out


def readouts(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Day-21 rise of the blood MDSC assay on MTD chemo, and the baseline biopsy (test)."""
    venv = TumorImmuneVectorEnv(num_envs=n, observation="clinical", split="test", cohort_size=n)
    obs, _ = venv.reset(seed=[seed + i for i in range(n)], options={"patients": list(range(n))})
    f = observation_fields("clinical")
    mdsc0, biopsy0 = obs[:, f.log10_blood_mdsc].copy(), obs[:, f.biopsy_log10_cd8_mdsc].copy()
    policy, state, start = get("mtd-chemo", observation="clinical"), None, np.ones(n, bool)
    for _ in range(3):  # the week-3 visit, before cycle 2
        action, state = policy.predict(obs, state=state, episode_start=start)
        start[:] = False
        obs, *_ = venv.step(action)
    return obs[:, f.log10_blood_mdsc] - mdsc0, biopsy0


def _q(result, name: str) -> np.ndarray:
    return result.arms[name].q_twist_days / DAYS_PER_MONTH


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - one linear study
    """Run the study and write its tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=150, help="train patients per arm (search)")
    ap.add_argument("--test", type=int, default=300, help="test patients per arm")
    ap.add_argument("--knockout", type=int, default=200, help="validation patients")
    ap.add_argument("--out", default="experiments/figures")
    ap.add_argument("--seed", type=int, default=0)
    args = quick.parse_args(ap, argv, __file__, sizes={"train": 2, "test": 24, "knockout": 4},
                            outputs={"out": "."})  # fmt: skip
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    report: dict = {"env_id": CLINICAL_ENV_ID, "horizon_days": HORIZON_DAYS}

    print("1. knockouts (open-loop MTD chemotherapy, validation)", flush=True)
    report["knockouts"] = knockouts(args.knockout)

    print("2. fixed-schedule search (train, clinical env, mean Q-TWiST)", flush=True)
    family = {s.name: s for s in FixedSchedule.grid(observation="clinical")}
    family["constant [1, 1, 1]"] = ConstantDoses((1.0, 1.0, 1.0))
    family["constant [0, 1, 1]"] = ConstantDoses((0.0, 1.0, 1.0))
    train = run_trial(family, CLINICAL_ENV_ID, "train", args.train, args.seed, progress=True)
    q_train = {name: float(_q(train, name).mean()) for name in family}
    ranked = sorted(q_train, key=q_train.get, reverse=True)
    report["search_train_q_twist_months"] = {k: q_train[k] for k in ranked}
    best = ranked[0]
    print(f"  best fixed schedule on train: {best} ({q_train[best]:.2f} mo); everything-always "
          f"{q_train['constant [1, 1, 1]']:.2f}; rank of everything-always "
          f"{ranked.index('constant [1, 1, 1]') + 1}/{len(ranked)}", flush=True)  # fmt: skip

    print("3-5. test split: best fixed, everything-always, feedback rule, regimens", flush=True)
    arms = {"best fixed: " + best: family[best], "everything-always": family["constant [1, 1, 1]"],
            "feedback rule": FeedbackRule()}  # fmt: skip
    arms |= {name: get(name, observation="clinical") for name in available()}
    test = run_trial(arms, CLINICAL_ENV_ID, "test", args.test, args.seed, progress=True)
    q = {name: _q(test, name) for name in arms}
    table = {}
    for name, arm in test.arms.items():
        table[name] = {
            "q_twist_months": float(q[name].mean()),
            "rmst_months": rmst(arm.os_days, arm.os_event, HORIZON_DAYS) / DAYS_PER_MONTH,
            "irae_rate": float((arm.irae_worst_grade > 0).mean()),
            "grade3_toxicity_months": float(arm.tox_days.mean() / DAYS_PER_MONTH),
        }
    report["test_arms"] = table
    margin = _bootstrap(q["feedback rule"] - q["best fixed: " + best], rng)
    rel = margin[0] / table["best fixed: " + best]["q_twist_months"]
    report["feedback_vs_best_fixed"] = {"mean_months": margin[0], "ci95": margin[1:],
                                        "relative": rel, "target_relative": 0.05}  # fmt: skip
    print(f"  feedback rule - best fixed: {margin[0]:+.2f} mo Q-TWiST "
          f"(95% CI {margin[1]:+.2f} to {margin[2]:+.2f}; {rel:+.1%})", flush=True)  # fmt: skip
    standard = [n for n in available() if n != "no-treatment"]
    qs = np.stack([q[n] for n in standard])
    best_single = standard[int(np.argmax(qs.mean(axis=1)))]
    oracle = qs.max(axis=0)
    gain = _bootstrap(oracle - q[best_single], rng)
    report["oracle"] = {"best_single_regimen": best_single, "gain_months": gain[0],
                        "ci95": gain[1:], "target_months": 1.0}  # fmt: skip
    print(f"  oracle over {len(standard)} regimens vs best single ({best_single}): "
          f"{gain[0]:+.2f} mo (95% CI {gain[1]:+.2f} to {gain[2]:+.2f})", flush=True)

    # Readouts from the clinical env: the baseline biopsy and the day-21 blood MDSC rise on
    # chemotherapy alone (the week-3 visit before cycle 2), measured in the mtd-chemo arm.
    c = cohort("test", args.test)
    mdsc_rise, biopsy = readouts(args.test, args.seed)
    benefit_inh = q["chemo-inhibitor"] - q["mtd-chemo"]
    benefit_pd1 = q["chemo-ici-concurrent"] - q["mtd-chemo"]
    report["readout_aucs"] = {
        "inhibitor_benefit>0 ~ day-21 MDSC rise": _auc(mdsc_rise, benefit_inh > 0),
        "anti-PD-1 benefit>1 mo ~ baseline biopsy": _auc(biopsy, benefit_pd1 > 1.0),
        "anti-PD-1 benefit>1 mo ~ -day-21 MDSC rise": _auc(-mdsc_rise, benefit_pd1 > 1.0),
    }  # fmt: skip
    for k, v in report["readout_aucs"].items():
        print(f"  AUC {k}: {v:.2f}", flush=True)

    seq = q["chemo-then-ici"] - q["chemo-ici-concurrent"]
    groups = {}
    for key in ("immune_class", "mdsc_responder", "immune_status"):
        for value in np.unique(c.phenotype(key)):
            sel = c.phenotype(key) == value
            if sel.sum() >= 10:
                groups[f"{key}={value}"] = {
                    "patients": int(sel.sum()),
                    "delayed_minus_concurrent_months": float(seq[sel].mean()),
                }
    report["sequencing"] = groups
    best_group = max(groups, key=lambda g: groups[g]["delayed_minus_concurrent_months"])
    print(f"  sequencing: best subgroup for delayed anti-PD-1 {best_group} "
          f"{groups[best_group]['delayed_minus_concurrent_months']:+.2f} mo", flush=True)
    report["elapsed_s"] = time.time() - t0

    os.makedirs(args.out, exist_ok=True)
    json_text = json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n"
    if not write_unless_only_timing(os.path.join(args.out, "model_study.json"), json_text):
        print("  model_study.json kept: only its run time (elapsed_s) differs")
    lines = ["# Model study, model v2 (`python experiments/model_study.py`)", "",
             f"Clinical env `{CLINICAL_ENV_ID}`, 5-year horizon; search on {args.train} train "
             f"patients, evaluation on {args.test} test patients; Q-TWiST in months.", "",
             "## Knockouts (open-loop MTD chemotherapy, validation)", "",
             "| model | RMST, mo | median PFS, mo |", "|---|---|---|"]  # fmt: skip
    for k, v in report["knockouts"].items():
        lines.append(f"| {k} | {v['rmst_months']:.1f} | {v['median_pfs_months']:.1f} |")
    lines += ["", "## Test split", "", "| arm | Q-TWiST, mo | RMST, mo | irAE | G>=3 tox, mo |",
              "|---|---|---|---|---|"]
    for k, v in sorted(table.items(), key=lambda kv: -kv[1]["q_twist_months"]):
        lines.append(f"| {k} | {v['q_twist_months']:.2f} | {v['rmst_months']:.2f} | "
                     f"{v['irae_rate']:.0%} | {v['grade3_toxicity_months']:.2f} |")
    fb = report["feedback_vs_best_fixed"]
    orc = report["oracle"]
    lines += ["", f"Best fixed schedule (train search over {len(family)}): `{best}`; "
              f"everything-always ranks {ranked.index('constant [1, 1, 1]') + 1}/{len(ranked)}.",
              f"Feedback rule - best fixed: {fb['mean_months']:+.2f} mo (95% CI "
              f"{fb['ci95'][0]:+.2f} to {fb['ci95'][1]:+.2f}), {fb['relative']:+.1%} "
              "(target >= +5%).",
              f"Oracle over the standard regimens - best single ({orc['best_single_regimen']}): "
              f"{orc['gain_months']:+.2f} mo (95% CI {orc['ci95'][0]:+.2f} to "
              f"{orc['ci95'][1]:+.2f}; target >= 1 month).", "", "## Readout AUCs", ""]
    lines += [f"- {k}: {v:.2f}" for k, v in report["readout_aucs"].items()]
    lines += ["", "## Sequencing (delayed minus concurrent anti-PD-1, Q-TWiST)", ""]
    lines += [f"- {k} ({v['patients']}): {v['delayed_minus_concurrent_months']:+.2f} mo"
              for k, v in groups.items()]
    md = os.path.join(args.out, "model_study.md")
    with open(md + ".tmp", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(md + ".tmp", md)
    print(f"wrote {md} ({time.time() - t0:.0f} s)")
    print(json.dumps(report["feedback_vs_best_fixed"]))
    return 0 if math.isfinite(margin[0]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
