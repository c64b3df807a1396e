"""``tme dataset``: log a behaviour policy into a Minari offline-RL dataset (`tme_env.offline`).

Needs the ``offline`` extra.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from tme_env.cli.args import int_at_least
from tme_env.envs.config import MAX_COHORT_SIZE
from tme_env.offline.behaviour import behaviour
from tme_env.offline.dataset import check_new_dataset, write_dataset
from tme_env.patients.cohort import SPLITS

__all__ = ["add_dataset_parser", "cmd_dataset"]


def add_dataset_parser(sub: Any) -> None:
    """Add ``tme dataset`` to the sub-parsers ``sub``."""
    p_data = sub.add_parser("dataset", help="log a behaviour policy into a Minari dataset")
    p_data.add_argument("--behaviour", default="clinician-mixed",
                        help="clinician-mixed or clinician-expert (tme_env.offline.BEHAVIOURS)")
    p_data.add_argument("--observation", default="full", choices=("full", "clinical"),
                        help="observation mode of the env")
    p_data.add_argument("--split", default="train", help="cohort split (train/validation/test)")
    p_data.add_argument("--n-patients", type=int_at_least(1), default=200,
                        help="episodes, one per patient")
    p_data.add_argument("--first-patient", type=int_at_least(0), default=0,
                        help="cohort index of the first patient")
    p_data.add_argument("--seed", type=int_at_least(0), default=0,
                        help="env reset seed base and behaviour seed")
    p_data.add_argument("--dataset-id", default=None,
                        help="Minari id (NAMESPACE/NAME-vN: letters, digits, - and _ in "
                             "parts joined by /; default tme/OBSERVATION/BEHAVIOUR-SPLIT-v0); "
                             "an existing dataset is never overwritten")
    p_data.add_argument("--out", default="datasets",
                        help="Minari datasets folder (MINARI_DATASETS_PATH; relative to the "
                             "current folder); the dataset appears in OUT/DATASET_ID only "
                             "when complete")
    p_data.set_defaults(func=cmd_dataset)


def cmd_dataset(args: argparse.Namespace) -> int:
    """Write the dataset of ``args`` and print how to load it.

    Every argument (behaviour, split, patients, id, folder) is checked before Minari is
    imported and before any patient is simulated.
    """
    try:
        behaviour(args.behaviour)
    except ValueError as exc:
        raise ValueError(f"--behaviour: {exc}") from None
    if args.split not in SPLITS:
        raise ValueError(f"--split: unknown split {args.split!r}; valid: {', '.join(SPLITS)}")
    last = args.first_patient + args.n_patients
    if last > MAX_COHORT_SIZE:
        raise ValueError(f"--first-patient + --n-patients must be at most {MAX_COHORT_SIZE:,} "
                         f"(the env builds that cohort), got {last:,}")  # fmt: skip
    dataset_id = args.dataset_id or f"tme/{args.observation}/{args.behaviour}-{args.split}-v0"
    final = check_new_dataset(dataset_id, args.out, id_flag="--dataset-id", root_flag="--out")
    root = final.parents[dataset_id.count("/")]
    try:
        import minari  # noqa: F401 - only to report a missing extra clearly
    except ImportError:
        raise SystemExit('tme dataset needs the offline extra: pip install -e ".[offline]"'
                         ) from None  # fmt: skip
    ds = write_dataset(dataset_id, args.behaviour, args.observation, args.split,
                       args.n_patients, seed=args.seed, first_patient=args.first_patient,
                       root=root, progress=True)  # fmt: skip
    meta = ds.storage.metadata["tme_env"]
    print(f"wrote {ds.total_episodes} episodes ({ds.total_steps} steps) of {meta['env_id']} "
          f"to {final}")
    code = f'import minari; print(minari.load_dataset("{dataset_id}"))'
    print(f"load: MINARI_DATASETS_PATH={shlex.quote(str(root))} python -c {shlex.quote(code)}")
    return 0
