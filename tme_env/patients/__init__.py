"""Virtual patients and cohorts for the ``tme`` model.

* `tme_env.patients.population`: the population distribution a patient is drawn from
  (`POPULATION`: log-normal parameter spreads; `IMMUNE_PHENOTYPES`; burden and resistance at
  presentation) and `VirtualPatient`;
* `tme_env.patients.cohort`: the named splits (`SPLITS`), `cohort` and `Cohort`. Patient
  ``i`` of a split always comes from its own seed, so a split's patients are the same bit for
  bit whatever the cohort size, and splits never share a patient.

>>> from tme_env.patients import cohort
>>> c = cohort("validation", 3)
>>> [p.patient_id for p in c]
['validation-0000', 'validation-0001', 'validation-0002']
"""

from __future__ import annotations

from tme_env.patients.cohort import COHORT_SEED, SPLITS, Cohort, cohort
from tme_env.patients.population import (
    BURDEN_MEDIAN,
    BURDEN_RANGE,
    BURDEN_SIGMA,
    COHORT_VERSION,
    CORRELATIONS,
    IMMUNE_PHENOTYPES,
    POPULATION,
    RESISTANT_MAX,
    RESISTANT_MEDIAN,
    RESISTANT_SIGMA,
    STRONG_RESPONDER_Z,
    LogNormalSpread,
    VirtualPatient,
    sample_patients,
)

__all__ = [
    "BURDEN_MEDIAN",
    "BURDEN_RANGE",
    "BURDEN_SIGMA",
    "COHORT_SEED",
    "COHORT_VERSION",
    "CORRELATIONS",
    "IMMUNE_PHENOTYPES",
    "POPULATION",
    "RESISTANT_MAX",
    "RESISTANT_MEDIAN",
    "RESISTANT_SIGMA",
    "SPLITS",
    "STRONG_RESPONDER_Z",
    "Cohort",
    "LogNormalSpread",
    "VirtualPatient",
    "cohort",
    "sample_patients",
]
