"""The benchmark protocol's tooling (`tme_env.benchmark`, ``tme benchmark``) on small cohorts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from gymnasium import spaces
from scipy.stats import trim_mean

from tme_env import benchmark
from tme_env.benchmark import (
    MIN_SEEDS,
    iqm,
    iqm_ci,
    markdown_row,
    paired_bootstrap_ci,
    resolve_policy,
    run_benchmark,
)

CLINICAL = "tme/TumorImmuneClinical-v2"


class ConstantDoses:
    """A policy with SB3's ``predict``: the same doses for every patient, every week."""

    def __init__(self, doses: tuple[float, float, float] = (0.0, 1.0, 1.0)) -> None:
        """Doses ``[chemo, anti-PD-1, inhibitor]`` as fractions of the maximum."""
        self.doses = np.asarray(doses, dtype=np.float32)

    def predict(self, observation, state=None, episode_start=None, deterministic=True):  # noqa: ANN001, ANN201, ARG002
        """The constant doses, one row per observation."""
        n = np.atleast_2d(observation).shape[0]
        return np.tile(self.doses, (n, 1)), state


#: Loaded by ``module:attr`` in the tests below.
PD1_INHIBITOR = ConstantDoses()
#: Declares the full observation space: refused on the clinical task.
WRONG_SPACE = ConstantDoses()
WRONG_SPACE.observation_space = spaces.Box(0.0, 1.0, (23,), np.float32)
#: Returns two doses instead of three: refused by the probe.
WRONG_ACTION = ConstantDoses()
WRONG_ACTION.doses = np.zeros(2, dtype=np.float32)


# --- statistics ------------------------------------------------------------------------------
def test_iqm_by_hand() -> None:
    # 5 scores: int(0.25 * 5) = 1 cut from each end -> mean(2, 3, 4).
    assert iqm([100.0, 1.0, 3.0, 2.0, 4.0]) == pytest.approx(3.0)
    # 8 scores: 2 cut from each end -> mean(3, 4, 5, 6).
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == pytest.approx(4.5)
    # Fewer than 4: nothing is cut.
    assert iqm([1.0, 2.0, 6.0]) == pytest.approx(3.0)


def test_iqm_ci_matches_a_naive_bootstrap() -> None:
    scores = np.array([10.0, 40.0, 55.0, 60.0, 62.0, 90.0])
    point, low, high = iqm_ci(scores, reps=20_000, seed=1)
    rng = np.random.default_rng(7)
    boot = [trim_mean(rng.choice(scores, scores.size), 0.25) for _ in range(20_000)]
    naive_low, naive_high = np.percentile(boot, [2.5, 97.5])
    assert point == pytest.approx(trim_mean(scores, 0.25))
    assert low == pytest.approx(naive_low, abs=2.0)
    assert high == pytest.approx(naive_high, abs=2.0)
    assert low < point < high
    np.random.seed(11)
    before = np.random.get_state()[1].copy()
    assert iqm_ci(scores, reps=2_000, seed=3) == iqm_ci(scores, reps=2_000, seed=3)
    assert np.array_equal(np.random.get_state()[1], before)  # the global RNG is left alone


def test_iqm_ci_degenerate_and_bad_input() -> None:
    assert iqm_ci([42.0]) == (42.0, 42.0, 42.0)
    assert iqm_ci([5.0, 5.0, 5.0, 5.0, 5.0]) == (5.0, 5.0, 5.0)
    with pytest.raises(ValueError, match="finite"):
        iqm_ci([1.0, float("nan")])
    with pytest.raises(ValueError, match="non-empty"):
        iqm([])
    with pytest.raises(ValueError, match="reps"):
        iqm_ci([1.0, 2.0], reps=0)


def test_paired_bootstrap_ci() -> None:
    a = np.array([10.0, 12.0, 9.0, 15.0, 11.0])
    diff, low, high = paired_bootstrap_ci(a, a - 2.0, reps=1_000)
    assert (diff, low, high) == pytest.approx((2.0, 2.0, 2.0))  # every pair differs by 2
    b = np.array([9.0, 13.0, 7.0, 10.0, 12.0])
    diff, low, high = paired_bootstrap_ci(a, b, reps=20_000, seed=0)
    d = a - b  # 1, -1, 2, 5, -1
    assert diff == pytest.approx(1.2)
    se = d.std() / math.sqrt(d.size)  # the bootstrap's own standard error (ddof 0)
    assert low == pytest.approx(1.2 - 1.96 * se, abs=0.5)
    assert high == pytest.approx(1.2 + 1.96 * se, abs=0.5)
    with pytest.raises(ValueError, match="paired"):
        paired_bootstrap_ci(a, b[:3])


# --- policies --------------------------------------------------------------------------------
def test_resolve_names_and_refusals() -> None:
    name, _ = resolve_policy("chemo-ici-inhibitor", CLINICAL)
    assert name == "chemo-ici-inhibitor"
    name, policy = resolve_policy("tests.test_benchmark:PD1_INHIBITOR", CLINICAL)
    assert (name, policy) == ("PD1_INHIBITOR", PD1_INHIBITOR)
    name, _ = resolve_policy("mine=tests.test_benchmark:ConstantDoses", CLINICAL)
    assert name == "mine"
    with pytest.raises(ValueError, match=r"observation space .*does not match"):
        resolve_policy("tests.test_benchmark:WRONG_SPACE", CLINICAL)
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        resolve_policy("tests.test_benchmark:WRONG_ACTION", CLINICAL)
    with pytest.raises(ValueError, match="no attribute 'NOPE'"):
        resolve_policy("tests.test_benchmark:NOPE", CLINICAL)
    with pytest.raises(ValueError, match="not a standard regimen"):
        resolve_policy("no-such-regimen", CLINICAL)
    with pytest.raises(ValueError, match="not a benchmark task"):
        resolve_policy("mtd-chemo", "tme/TumorImmuneDiscrete-v2")


def test_model_of_another_task_is_refused(tmp_path) -> None:  # noqa: ANN001
    import gymnasium as gym
    from stable_baselines3 import PPO

    from tme_env.cli import main

    path = tmp_path / "full.zip"
    PPO("MlpPolicy", gym.make("tme/TumorImmune-v2"), n_steps=64, batch_size=64,
        device="cpu").save(path)  # fmt: skip
    with pytest.raises(ValueError, match=r"shape \(23,\).*has shape \(22,\)"):
        resolve_policy(str(path), CLINICAL, trusted=True)
    out = tmp_path / "out"
    assert main(["benchmark", "--policy", str(path), "--task", CLINICAL, "--n-patients", "4",
                 "--out", str(out)]) == 2  # fmt: skip
    assert not out.exists()


def test_discrete_model_scores_on_the_full_task_through_its_dose_levels(tmp_path) -> None:  # noqa: ANN001
    import gymnasium as gym
    from stable_baselines3 import DQN

    from tme_env.agents.callbacks import DiscreteDoses

    path = tmp_path / "dqn.zip"
    DQN("MlpPolicy", gym.make("tme/TumorImmuneDiscrete-v2"), buffer_size=100, learning_starts=0,
        device="cpu").save(path)  # fmt: skip
    name, policy = resolve_policy(str(path), "tme/TumorImmune-v2", trusted=True)
    assert name == "dqn" and isinstance(policy, DiscreteDoses)
    with pytest.raises(ValueError, match="observation space has shape"):
        resolve_policy(str(path), CLINICAL, trusted=True)


def test_model_with_a_rescaled_action_box_is_refused(tmp_path) -> None:  # noqa: ANN001
    import gymnasium as gym
    from gymnasium.wrappers import RescaleAction
    from stable_baselines3 import PPO

    path = tmp_path / "rescaled.zip"
    env = RescaleAction(gym.make(CLINICAL), np.float32(-1.0), np.float32(1.0))
    PPO("MlpPolicy", env, n_steps=64, batch_size=64, device="cpu").save(path)
    with pytest.raises(ValueError, match=r"action space Box\(-1\.0, 1\.0.*does not match"):
        resolve_policy(str(path), CLINICAL, trusted=True)


def test_submission_named_like_a_regimen_is_refused() -> None:
    with pytest.raises(ValueError, match="named like a standard regimen"):
        run_benchmark(["mtd-chemo=tests.test_benchmark:PD1_INHIBITOR"], CLINICAL, n_patients=4)


# --- one small benchmark ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory):  # noqa: ANN001, ANN201
    out = tmp_path_factory.mktemp("bench") / "out"
    specs = ["chemo-ici-inhibitor", "rule=tests.test_benchmark:PD1_INHIBITOR",
             "rule=tme_env.regimens.family:FeedbackRule"]  # fmt: skip
    return run_benchmark(specs, CLINICAL, n_patients=8, seed=0, out=out, reps=2_000), out


def test_scores_are_the_trials(small) -> None:  # noqa: ANN001
    result, _ = small
    by_arm = {r["arm"]: r for r in result.summary}
    assert result.seeds == {"chemo-ici-inhibitor": ["chemo-ici-inhibitor"],
                            "rule": ["rule-s0", "rule-s1"]}  # fmt: skip
    q = {a: r["q_twist_months"] for a, r in by_arm.items()}
    standard = [a for a in q if a not in ("no-treatment", "rule-s0", "rule-s1")]
    best = max(standard, key=q.get)
    rows = {r["submission"]: r for r in result.rows}
    for arm in ("rule-s0", "rule-s1"):
        by_hand = 100 * (q[arm] - q["no-treatment"]) / (q[best] - q["no-treatment"])
        assert by_arm[arm]["benchmark_score"] == pytest.approx(by_hand)
    rule = rows["rule"]
    assert rule["seed_scores"] == [by_arm["rule-s0"]["benchmark_score"],
                                   by_arm["rule-s1"]["benchmark_score"]]  # fmt: skip
    assert rule["score_iqm"] == pytest.approx(np.mean(rule["seed_scores"]))  # 2 seeds: mean
    assert rule["score_ci_low"] <= rule["score_iqm"] <= rule["score_ci_high"]
    assert rule["best_standard"] == best
    assert rule["q_twist_months"] == pytest.approx((q["rule-s0"] + q["rule-s1"]) / 2)
    assert rule["q_twist_vs_best_standard_months"] == pytest.approx(
        rule["q_twist_months"] - q[best]
    )
    regimen = rows["chemo-ici-inhibitor"]
    assert regimen["seed_scores"] == [by_arm["chemo-ici-inhibitor"]["benchmark_score"]]
    assert regimen["score_iqm"] == regimen["score_ci_low"] == regimen["score_ci_high"]


def test_leaderboard_row_fields(small) -> None:  # noqa: ANN001
    import tme_env

    result, out = small
    rows = {r["submission"]: r for r in result.rows}
    rule = rows["rule"]
    assert rule["env_id"] == CLINICAL and rule["env_version"] == "v2"
    assert rule["observation"] == "clinical" and rule["split"] == "test"
    assert rule["package_version"] == tme_env.__version__
    assert rule["git_commit"] == benchmark.git_commit() and rule["git_commit"]
    assert rule["n_patients"] == 8 and rule["n_seeds"] == 2
    assert rule["meets_protocol"] is False
    assert rule["deviations"] == ["8 patients per arm (protocol: 500)",
                                  f"2 seed(s) (protocol: at least {MIN_SEEDS})"]  # fmt: skip
    # A standard regimen is deterministic: the seed count does not apply to it.
    assert rows["chemo-ici-inhibitor"]["deviations"] == ["8 patients per arm (protocol: 500)"]
    for key in ("rmst_os_months", "median_os_months", "median_pfs_months",
                "objective_response_rate", "grade3plus_neutropenia_rate", "irae_rate",
                "irae_grade3plus_rate"):  # fmt: skip
        assert key in rule
    line = markdown_row(rule)
    assert line.startswith("| rule | tme/TumorImmuneClinical-v2 | 2 | ")
    assert line.count("|") == benchmark.MARKDOWN_HEADER.splitlines()[0].count("|")
    written = json.loads((out / "leaderboard.json").read_text())
    assert [r["submission"] for r in written] == ["chemo-ici-inhibitor", "rule"]
    assert line in (out / "leaderboard.md").read_text()
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores["submissions"]["rule"]["seeds"]) == {"rule-s0", "rule-s1"}
    assert "no-treatment" in scores["references"]
    assert (out / "trial" / "report.md").is_file()


@pytest.mark.slow
def test_cli_with_a_model_twice_gives_identical_rows(tmp_path, capsys) -> None:  # noqa: ANN001
    import gymnasium as gym
    from stable_baselines3 import PPO

    from tme_env.cli import main

    path = tmp_path / "clinical.zip"
    PPO("MlpPolicy", gym.make(CLINICAL), n_steps=64, batch_size=64, seed=0,
        device="cpu").save(path)  # fmt: skip
    rows = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        args = ["benchmark", "--policy", str(path), "--policy", f"ppo={path}", "--task",
                CLINICAL, "--n-patients", "8", "--out", str(out), "--trust-model"]  # fmt: skip
        assert main(args) == 0
        rows.append(json.loads((out / "leaderboard.json").read_text()))
    assert rows[0] == rows[1]
    assert rows[0][0]["submission"] == "ppo" and rows[0][0]["n_seeds"] == 2
    assert "| ppo | tme/TumorImmuneClinical-v2 | 2 |" in capsys.readouterr().out


def test_git_commit_of_a_checkout() -> None:
    # The package folder's own checkout counts (the benchmark package sits one level below it).
    import shutil
    import subprocess
    from pathlib import Path

    import tme_env

    root = Path(tme_env.__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    assert benchmark.git_commit().removesuffix("-dirty") == head
