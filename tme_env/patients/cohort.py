"""Named cohort splits of virtual patients, and the `Cohort` the batched simulator reads.

Named splits are fixed: patient ``i`` of split ``s`` is generated from its own seed
``SeedSequence((COHORT_SEED, SPLITS[s], i))`` and drawn from the population of
`tme_env.patients.population`, so

* the same split name and size always give the same patients, bit for bit;
* a larger cohort of a split extends a smaller one (``cohort("test", 100)[:50] ==
  cohort("test", 50)``);
* splits never share a patient (disjoint seed streams; tested).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tme_env.models.tme import MODEL, TMEParameters
from tme_env.patients.population import RESISTANT_MEDIAN, VirtualPatient, draw_patient

__all__ = ["COHORT_SEED", "SPLITS", "Cohort", "cohort"]

#: Root seed of the named splits.
COHORT_SEED = 20261126
#: Named splits and their seed-stream keys. ``test`` is held out for final evaluation.
SPLITS: dict[str, int] = {"train": 0, "validation": 1, "test": 2}


@dataclass(frozen=True)
class Cohort:
    """An ordered group of virtual patients with array views for the batched simulator."""

    name: str
    patients: tuple[VirtualPatient, ...]

    def __len__(self) -> int:
        """Number of patients."""
        return len(self.patients)

    def __iter__(self) -> Iterator[VirtualPatient]:
        """Iterate over the patients."""
        return iter(self.patients)

    def __getitem__(self, key: int | slice) -> VirtualPatient | Cohort:
        """A patient by position, or a sub-cohort for a slice."""
        if isinstance(key, slice):
            return Cohort(self.name, self.patients[key])
        return self.patients[key]

    @property
    def ids(self) -> list[str]:
        """Patient ids, in order."""
        return [p.patient_id for p in self.patients]

    def parameters_array(self) -> np.ndarray:
        """Parameters, shape ``(n_patients, n_parameters)`` in kernel order."""
        return np.stack([p.parameters.to_array() for p in self.patients])

    def initial_states_array(self) -> np.ndarray:
        """Initial states, shape ``(n_patients, n_states)`` in kernel order."""
        return np.array([[p.initial_state[s] for s in MODEL.state_names] for p in self.patients])

    def phenotype(self, key: str) -> np.ndarray:
        """One phenotype label for every patient."""
        return np.array([p.phenotype[key] for p in self.patients])


def cohort(
    split: str,
    n: int,
    base: TMEParameters | None = None,
    resistant_median: float = RESISTANT_MEDIAN,
    start: int = 0,
) -> Cohort:
    """The first ``n`` patients of a named split (``train``, ``validation`` or ``test``).

    With ``start``, the patients ``start .. start + n - 1`` of the split instead, drawn without
    the ones before them (``cohort(s, 10, start=5)`` is ``cohort(s, 15)[5:]``): a shard of a
    large trial builds only its own patients.

    Args:
        split: Split name.
        n: Number of patients.
        base: Population medians (default: the model's nominal parameters); the random
            deviates of each patient are the same whatever ``base`` is.
        resistant_median: Median resistant fraction at presentation.
        start: Index in the split of the first patient.

    Raises:
        ValueError: On an unknown split, a non-positive size or a negative start.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"cohort size must be a positive integer, got {n!r}")
    if not isinstance(start, (int, np.integer)) or start < 0:
        raise ValueError(f"cohort start must be a non-negative integer, got {start!r}")
    patients = tuple(
        draw_patient(
            np.random.default_rng(np.random.SeedSequence((COHORT_SEED, SPLITS[split], i))),
            f"{split}-{i:04d}",
            base,
            resistant_median,
        )
        for i in range(start, start + n)
    )
    return Cohort(split, patients)
