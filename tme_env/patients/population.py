"""The population of virtual patients of the ``tme`` model, and how a patient is drawn from it.

A `VirtualPatient` is a parameter set, a presentation state and phenotype labels. Patients are
drawn from a documented population distribution: an immune phenotype (`IMMUNE_PHENOTYPES`:
inflamed, excluded or desert tumours, which scale effector recruitment) and log-normal
spreads (`POPULATION`) around the model's nominal (calibrated) values, with a correlation
between the two MDSC recruitment routes (`CORRELATIONS`), and a tumour burden and resistant
fraction at presentation. The phenotypes are what monitoring can reveal: the biopsy's
CD8:MDSC ratio tells inflamed from desert tumours, the blood MDSC rise after a chemotherapy
cycle tells strong from weak MDSC responders, and irAE history tells irAE-prone patients
(``irae_susceptibility``, never observed directly).

This module is the one home of the cohort spread; the named splits that draw from it are in
`tme_env.patients.cohort`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from tme_env.models.tme import HOT_THRESHOLD, MODEL, TMEParameters, hotness, quasi_steady_state

__all__ = [
    "BURDEN_MEDIAN",
    "BURDEN_RANGE",
    "BURDEN_SIGMA",
    "COHORT_VERSION",
    "CORRELATIONS",
    "ECOG_FRAILTY",
    "PHENOTYPE_GIVEN_TPS",
    "TPS_STRATA",
    "IMMUNE_PHENOTYPES",
    "POPULATION",
    "RESISTANT_MAX",
    "RESISTANT_MEDIAN",
    "RESISTANT_SIGMA",
    "STRONG_RESPONDER_Z",
    "LogNormalSpread",
    "VirtualPatient",
    "draw_patient",
    "sample_patients",
]

#: Version of the population definition; bump it whenever POPULATION or the sampling changes.
COHORT_VERSION = "tme-cohort-v2"


@dataclass(frozen=True, slots=True)
class LogNormalSpread:
    """Between-patient variability of one parameter: ``value = median * exp(sigma * z)``."""

    parameter: str
    sigma: float
    rationale: str


#: Population distribution: the median of each parameter is its `TMEParameters` default.
POPULATION: tuple[LogNormalSpread, ...] = (
    LogNormalSpread("growth_rate", 0.25, "tumour doubling times vary ~2x between patients"),
    LogNormalSpread("chemo_kill_rate", 0.30, "chemosensitivity varies between tumours"),
    LogNormalSpread(
        "effector_recruitment", 0.30, "within-phenotype spread (the phenotype sets the level)"
    ),
    LogNormalSpread("effector_kill_rate", 0.10, "de Pillis 2013: d in [1.7, 2.2]"),
    LogNormalSpread("mdsc_tumour_recruitment", 0.30, "myeloid recruitment by tumour chemokines"),
    LogNormalSpread(
        "mdsc_damage_recruitment",
        1.00,
        "chemo-induced MDSC expansion varies >10-fold between patients (Diaz-Montero 2009 [M]);"
        " top vs bottom quartile differ ~4x (P7)",
    ),
    LogNormalSpread("neutrophil_baseline", 0.25, "Friberg 2002 inter-individual variability"),
    LogNormalSpread("neutrophil_drug_ec50", 0.30, "Friberg 2002 inter-individual variability"),
    LogNormalSpread(
        "irae_susceptibility",
        1.0,
        "irAE-prone patients: a log-normal frailty (assumed sigma 1: the top decile ~3.6x the "
        "median hazard); autoimmune history and germline factors raise irAE risk (Khan 2020 [M])",
    ),
)
#: Immune phenotypes of the tumour (Chen & Mellman, Nature 2017; Hegde et al., Clin Cancer
#: Res 2016): ``(name, probability, multiplier of effector recruitment)``. Proportions are
#: rounded from NSCLC immune-profiling series (about a third inflamed [M]); the multipliers
#: are assumed (inflamed tumours admit ~3x the T-cell influx of excluded ones, deserts ~1/5).
IMMUNE_PHENOTYPES: tuple[tuple[str, float, float], ...] = (
    ("inflamed", 0.35, 2.0),
    ("excluded", 0.40, 0.7),
    ("desert", 0.25, 0.15),
)
#: PD-L1 tumour proportion score strata (22C3): ``(name, lowest TPS, highest TPS,
#: probability)``. Probabilities are KEYNOTE-189's evaluable patients (Gandhi et al., NEJM
#: 2018, Table 1: < 1% 190, 1-49% 186, >= 50% 202 of 578 with a result; 38 of 616 had none);
#: within a stratum the TPS is uniform (assumed).
TPS_STRATA: tuple[tuple[str, float, float, float], ...] = (
    ("<1%", 0.0, 0.01, 190 / 578),
    ("1-49%", 0.01, 0.50, 186 / 578),
    (">=50%", 0.50, 1.0, 202 / 578),
)
#: Immune phenotype probabilities within each TPS stratum (rows: `TPS_STRATA`; columns:
#: `IMMUNE_PHENOTYPES`). Tumour PD-L1 is induced by interferon-gamma from infiltrating T
#: cells (adaptive immune resistance: Taube et al., Sci Transl Med 2012; Teng et al., Cancer
#: Res 2015 [M]), so PD-L1-high tumours are mostly inflamed and PD-L1-negative ones mostly
#: excluded or deserts. Assumed values whose TPS-weighted mean is the marginal of
#: `IMMUNE_PHENOTYPES` (0.35, 0.40, 0.25).
PHENOTYPE_GIVEN_TPS: tuple[tuple[float, float, float], ...] = (
    (0.10, 0.45, 0.45),
    (0.35, 0.45, 0.20),
    (0.59, 0.31, 0.10),
)
#: Death-hazard frailty by ECOG performance status: ``(status, probability, multiplier)``.
#: KEYNOTE-189 enrolled ECOG 0 (43%) and 1 (56%; Gandhi et al., NEJM 2018, Table 1); ECOG 1
#: vs 0 carries an OS hazard ratio of about 1.5 in first-line NSCLC [M] (assumed 1.5).
ECOG_FRAILTY: tuple[tuple[int, float, float], ...] = ((0, 0.44, 1.0), (1, 0.56, 1.5))
#: Correlation of the standard-normal deviates (log scale) between parameters of POPULATION:
#: both MDSC recruitment routes reflect the same myeloid propensity of the host.
CORRELATIONS: dict[tuple[str, str], float] = {
    ("mdsc_tumour_recruitment", "mdsc_damage_recruitment"): 0.5,
}
#: Tumour burden at presentation (cells): log-normal, median 3e10 (~30 cm^3 of disease),
#: sigma 0.7, resampled until within [2e9, 3e11] (detectable by imaging, below ~1/3 lethal).
BURDEN_MEDIAN, BURDEN_SIGMA, BURDEN_RANGE = 3e10, 0.7, (2e9, 3e11)
#: Resistant fraction at presentation: log-normal, median calibrated to the model-v2 trial
#: panel (experiments/calibrate_tme.py), sigma 1.0, capped at 0.2.
RESISTANT_MEDIAN, RESISTANT_SIGMA, RESISTANT_MAX = 0.000454099, 1.0, 0.2
#: z-score above which a patient is a "strong" chemo-induced MDSC responder (top quartile).
STRONG_RESPONDER_Z = 0.6745


def _correlation_matrix() -> np.ndarray:
    names = [s.parameter for s in POPULATION]
    corr = np.eye(len(names))
    for (a, b), rho in CORRELATIONS.items():
        i, j = names.index(a), names.index(b)
        corr[i, j] = corr[j, i] = rho
    return corr


_CHOL = np.linalg.cholesky(_correlation_matrix())


@dataclass(frozen=True)
class VirtualPatient:
    """One virtual patient of the ``tme`` model.

    Attributes:
        patient_id: Unique id, ``"<split>-<index>"``.
        parameters: The patient's model parameters.
        initial_state: State at presentation (day 0), by state name.
        phenotype: Labels: ``mdsc_responder`` (strong/intermediate/weak chemo-induced MDSC
            response: top/middle/bottom quartile of the population), ``immune_class``
            (inflamed/excluded/desert, `IMMUNE_PHENOTYPES`), ``irae_prone`` (top quartile of
            irAE susceptibility), ``immune_status`` (hot/cold at presentation),
            ``pdl1_tps`` (fraction) and ``pdl1_stratum`` (``"<1%"``, ``"1-49%"``,
            ``">=50%"``), ``ecog`` (0 or 1), and the underlying z-scores.
    """

    patient_id: str
    parameters: TMEParameters
    initial_state: Mapping[str, float]
    phenotype: Mapping[str, object] = field(default_factory=dict)

    @property
    def tumour_burden(self) -> float:
        """Tumour cells at presentation."""
        return float(self.initial_state["S"] + self.initial_state["R"])


def draw_patient(
    rng: np.random.Generator,
    patient_id: str,
    base: TMEParameters | None = None,
    resistant_median: float = RESISTANT_MEDIAN,
) -> VirtualPatient:
    """Draw one patient from the population with ``rng`` (its state advances).

    Args:
        rng: The random generator.
        patient_id: The patient's id.
        base: Population medians (default: the model's nominal parameters).
        resistant_median: Median resistant fraction at presentation.
    """
    z = _CHOL @ rng.standard_normal(len(POPULATION))
    base = TMEParameters() if base is None else base
    overrides = {
        s.parameter: getattr(base, s.parameter) * math.exp(s.sigma * zi)
        for s, zi in zip(POPULATION, z, strict=True)
    }
    u_phenotype = rng.random()
    # Model v2 draws (after every v1 draw, so that a patient's v1 deviates are unchanged):
    # the PD-L1 stratum and TPS, the ECOG status and the death threshold.
    u_stratum, u_tps, u_ecog = rng.random(), rng.random(), rng.random()
    death_threshold = float(rng.standard_exponential())
    cum = 0.0
    for k, (stratum, lo, hi, prob) in enumerate(TPS_STRATA):  # noqa: B007 - the last stays
        cum += prob
        if u_stratum < cum:
            break
    tps = lo + (hi - lo) * u_tps
    cum = 0.0
    for (immune_class, _, scale), prob in zip(  # noqa: B007 - the last one stays
        IMMUNE_PHENOTYPES, PHENOTYPE_GIVEN_TPS[k], strict=True
    ):
        cum += prob
        if u_phenotype < cum:
            break
    ecog, frailty = ECOG_FRAILTY[-1][0], ECOG_FRAILTY[-1][2]
    if u_ecog < ECOG_FRAILTY[0][1]:
        ecog, frailty = ECOG_FRAILTY[0][0], ECOG_FRAILTY[0][2]
    overrides["effector_recruitment"] *= scale
    overrides["pdl1_tps"] = tps
    overrides["death_frailty"] = base.death_frailty * frailty
    overrides["death_threshold"] = death_threshold
    params = base.replace(**overrides)
    while True:
        burden = BURDEN_MEDIAN * math.exp(BURDEN_SIGMA * rng.standard_normal())
        if BURDEN_RANGE[0] <= burden <= BURDEN_RANGE[1]:
            break
    resistant = min(resistant_median * math.exp(RESISTANT_SIGMA * rng.standard_normal()),
                    RESISTANT_MAX)  # fmt: skip
    y0 = quasi_steady_state(params, burden, resistant)
    z_mdsc = float(z[[s.parameter for s in POPULATION].index("mdsc_damage_recruitment")])
    responder = (
        "strong" if z_mdsc > STRONG_RESPONDER_Z
        else "weak" if z_mdsc < -STRONG_RESPONDER_Z else "intermediate"
    )  # fmt: skip
    h0 = float(hotness(np.array([y0[k] for k in MODEL.state_names]), params.to_array()))
    z_irae = float(z[[s.parameter for s in POPULATION].index("irae_susceptibility")])
    phenotype = {
        "mdsc_responder": responder,
        "immune_class": immune_class,
        "irae_prone": bool(z_irae > STRONG_RESPONDER_Z),
        "immune_status": "hot" if h0 >= HOT_THRESHOLD else "cold",
        "pdl1_tps": tps,
        "pdl1_stratum": stratum,
        "ecog": ecog,
        "z": {s.parameter: float(zi) for s, zi in zip(POPULATION, z, strict=True)},
    }
    return VirtualPatient(patient_id, params, y0, phenotype)


def sample_patients(
    n: int,
    rng: np.random.Generator,
    prefix: str = "patient",
    base: TMEParameters | None = None,
) -> list[VirtualPatient]:
    """Draw ``n`` patients from the population with an explicit generator.

    Args:
        n: Number of patients.
        rng: The random generator (its state advances).
        prefix: Patient id prefix.
        base: Population medians (default: the model's nominal parameters).
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return [draw_patient(rng, f"{prefix}-{i:04d}", base) for i in range(int(n))]
