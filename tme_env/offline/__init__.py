"""Offline RL on the ``tme`` envs: logged treatment datasets, offline baselines, and OPE.

* `tme_env.offline.behaviour`: the clinician-like logging policies and their propensities;
* `tme_env.offline.rollout`: batched logging (`collect`) and the simulator's true values;
* `tme_env.offline.dataset`: Minari datasets (write, load, metadata) and d3rlpy conversion;
* `tme_env.offline.baselines`: d3rlpy BC, CQL, IQL and discrete CQL, as SB3-style policies;
* `tme_env.offline.ope`: weighted importance sampling and FQE against the simulated truth.

`behaviour` and `rollout` need only the core install; the others need the ``offline`` extra
(``pip install -e ".[offline]"``: Minari and d3rlpy). Importing the package hides the banner
that the legacy ``gym`` package (installed with d3rlpy) prints on import
(`tme_env.agents.hide_gym_notice`).
"""

from __future__ import annotations

from tme_env.agents import hide_gym_notice
from tme_env.offline.behaviour import (
    BEHAVIOURS,
    DOSE_LEVELS,
    ENV_IDS,
    BehaviourSpec,
    ClinicianBehaviour,
    Profile,
    behaviour,
)
from tme_env.offline.rollout import Episode, collect, policy_returns

hide_gym_notice()  # before a module of this package imports d3rlpy (which imports gym)

__all__ = [
    "BEHAVIOURS",
    "DOSE_LEVELS",
    "ENV_IDS",
    "BehaviourSpec",
    "ClinicianBehaviour",
    "Episode",
    "Profile",
    "behaviour",
    "collect",
    "policy_returns",
]
