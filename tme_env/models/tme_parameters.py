"""Parameters of the immune-shift model ``tme``: value, unit and source of every one.

`TMEParameters` is one virtual patient's parameter set (the defaults are the population
medians); the equations they enter are in `tme_env.models.tme`, which re-exports it. Split
from that module to keep each file readable; the kernel order of the parameters is this
dataclass's field order (`tme_env.models.tme.PARAM`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tme_env.models.base import ModelParameters, param

__all__ = ["TMEParameters"]

_PI = (
    "calibrated: the model-v2 trial panel (KEYNOTE-189 with its PD-L1 strata and 5-year data, "
    "KEYNOTE-024, FDA pooled chemo-IO vs IO; tme_env.validation.panel) by "
    "experiments/calibrate_tme.py on train patients"
)
_P1 = "calibrated: P1 untreated median OS 3-9 months"
_P3 = "calibrated: P3 chemo doubles MDSCs after cycle 1 (Diaz-Montero 2009, models.md §3d)"
_TOX = "calibrated: grade >= 3 neutropenia in ~15% over 4 platinum-doublet cycles [M]"
_DP06 = "de Pillis, Gu & Radunskaya 2006 (models.md §2)"
_DP13 = "de Pillis et al. 2013 (models.md §3a)"
_AND = "Anderson et al. GBM-T cell-MDSC model, code nominal values (models.md §3c)"
_FRI = "Friberg et al. 2002 docetaxel myelosuppression model (models.md §5)"


@dataclass(frozen=True, slots=True)
class TMEParameters(ModelParameters):
    """Parameters of the immune-shift model (one virtual patient)."""

    # --- tumour -------------------------------------------------------------------------
    growth_rate: float = param(
        0.0115047, unit="1/day", source=_PI,
        description="Gompertz growth rate g_S of the chemo-sensitive clone",
    )  # fmt: skip
    carrying_capacity: float = param(
        3e12, unit="cells", source="assumed: above the lethal burden 1e12 (Norton-Simon-type fits)",
        description="Gompertz carrying capacity K",
    )  # fmt: skip
    resistant_growth_factor: float = param(
        1.0, unit="-", source="assumed: no fitness cost of resistance (Strobl 2021 cost=0, §4a)",
        description="growth rate of the resistant clone relative to the sensitive one",
    )  # fmt: skip
    switching_rate: float = param(
        1e-6, unit="1/day", source="Monro & Gaffney 2009 t1 = 1e-6 (models.md §4d)",
        description="spontaneous sensitive-to-resistant switching rate mu",
    )  # fmt: skip
    chemo_induced_switching: float = param(
        10.0, unit="-",
        source=(
            "assumed: drug-induced resistance (Greene 2019, alpha/eps >> 1, §4c)"
        ),
        description="fold increase of switching under saturating chemotherapy mu_C",
    )  # fmt: skip
    # --- chemotherapy ---------------------------------------------------------------------
    chemo_kill_rate: float = param(
        0.656594, unit="1/day", source=_PI,
        description="maximal chemotherapy kill rate of sensitive tumour cells k_chemo",
    )  # fmt: skip
    chemo_resistant_kill_fraction: float = param(
        0.05, unit="-", source="assumed: resistant cells are killed 20x less",
        description="kill of resistant relative to sensitive cells eps_R", upper=1.0,
    )  # fmt: skip
    chemo_ec50: float = param(
        0.25, unit="full-dose units", source="assumed: near-saturating kill at full dose",
        description="exposure giving half-maximal kill C50",
    )  # fmt: skip
    chemo_elimination_rate: float = param(
        1.386, unit="1/day",
        source=(
            "assumed: effective exposure half-life 12 h (platinum/pemetrexed t1/2 3-6 h "
            "plus intracellular retention)"
        ),
        description="chemotherapy elimination rate k_el_C",
    )  # fmt: skip
    chemo_effector_kill_rate: float = param(
        0.6, unit="1/day", source=f"{_DP06} K_L = 0.6",
        description="maximal chemotherapy kill rate of dividing effector T cells",
    )  # fmt: skip
    # --- effector T cells -----------------------------------------------------------------
    effector_kill_rate: float = param(
        0.0945746, unit="1/day", source=_PI,
        description="maximal CD8+ kill rate d_E of the ratio-dependent law",
    )  # fmt: skip
    effector_kill_exponent: float = param(
        1.0, unit="-",
        source=(
            "calibrated: l = 1 (de Pillis fits l in [1.7, 2.2] on RCC xenografts; l ~ 2 "
            "makes the immune response eradicate multi-log metastatic disease after every"
            " debulking, contradicting KEYNOTE-189 survival)"
        ),
        description="exponent l of the effector:tumour ratio",
    )  # fmt: skip
    effector_kill_steepness: float = param(
        0.035, unit="-", source=f"{_DP13} s = 3.5e-2",
        description="ratio scale s_E of the kill law",
    )  # fmt: skip
    effector_recruitment: float = param(
        5.42006e+09, unit="cells/day", source=_PI,
        description="maximal antigen-driven effector recruitment rho_E",
    )  # fmt: skip
    effector_recruitment_half_sat: float = param(
        1e11, unit="cells",
        source=(
            "calibrated: effector influx proportional to tumour antigen in the clinical "
            "range (1e9-1e11 cells)"
        ),
        description="tumour size of half-maximal effector recruitment k_E",
    )  # fmt: skip
    icd_recruitment: float = param(
        1.58438e+09, unit="cells/day",
        source=(
            _PI + "; immunogenic cell death primes T cells through antigen release "
            "(Galluzzi et al., Nat Rev Immunol 2017 [M]), why chemotherapy adds to anti-PD-1"
        ),
        description="maximal effector recruitment by the damage signal rho_ICD (ICD priming)",
    )  # fmt: skip
    effector_death_rate: float = param(
        0.204, unit="1/day", source=f"{_DP06} m = 0.204",
        description="death rate delta_E of active effector T cells",
    )  # fmt: skip
    effector_inactivation_rate: float = param(
        0.02, unit="1/day", source="assumed: tumour-induced inactivation at high burden",
        description="maximal irreversible inactivation q_E of effectors by tumour",
    )  # fmt: skip
    exhaustion_rate: float = param(
        1.05683, unit="1/day", source=_PI,
        description="maximal PD-1-mediated exhaustion rate x_E of active effectors",
    )  # fmt: skip
    exhaustion_half_sat: float = param(
        5.66595e+09, unit="cells",
        source=(
            _PI + "; exhaustion grows with the antigen load (chronic stimulation: Wherry, Nat "
            "Immunol 2011 [M]), which is what lets immune control outlast anti-PD-1"
        ),
        description="tumour size of half-maximal exhaustion/inactivation K_ex",
    )  # fmt: skip
    reinvigoration_rate: float = param(
        0.0767746, unit="1/day", source=_PI,
        description="rate at which PD-1 blockade reinvigorates exhausted cells",
    )  # fmt: skip
    exhausted_death_rate: float = param(
        0.2, unit="1/day",
        source=(
            "assumed: exhausted cells turn over like active ones (de Pillis 2006 m)"
        ),
        description="death rate delta_X of exhausted T cells",
    )  # fmt: skip
    # --- MDSCs and the immune shift -------------------------------------------------------
    mdsc_tumour_recruitment: float = param(
        3.6e8, unit="cells/day", source=f"{_AND} alpha = 3.60e8",
        description="maximal tumour-driven MDSC recruitment alpha_N",
    )  # fmt: skip
    mdsc_tumour_half_sat: float = param(
        3.51e10, unit="cells", source=f"{_AND} q = 3.51e10",
        description="tumour size of half-maximal MDSC recruitment q_N",
    )  # fmt: skip
    mdsc_damage_recruitment: float = param(
        6e8, unit="cells/day", source=_P3,
        description="maximal MDSC recruitment by the damage signal alpha_D (patient-specific)",
    )  # fmt: skip
    damage_half_sat: float = param(
        1.0, unit="damage units",
        source=(
            "assumed: half-saturation at D = 1 (a sustained kill of 1e8 cells/day at "
            "delta_D = 0.1/day)"
        ),
        description="damage signal of half-maximal recruitment K_D",
    )  # fmt: skip
    damage_decay_rate: float = param(
        0.1, unit="1/day",
        source=(
            "calibrated: circulating MDSCs stay raised until the next q3w cycle and rise "
            "cycle on cycle (Diaz-Montero 2009, models.md §3d); t1/2 ~7 days"
        ),
        description="decay rate delta_D of the damage signal",
    )  # fmt: skip
    mdsc_death_rate: float = param(
        0.251, unit="1/day", source=f"{_AND} d_M = 0.251",
        description="MDSC death/egress rate delta_M",
    )  # fmt: skip
    mdsc_growth_promotion: float = param(
        0.0, unit="-",
        source=(
            "off in v1: Bruchard 2013 shows the route (chemo-activated MDSCs -> IL-1beta -> "
            "IL-17) in mice but no source gives its size; kept as a scenario switch"
        ),
        description="maximal fractional increase of tumour growth by functional MDSCs pi_M",
    )  # fmt: skip
    mdsc_exhaustion_promotion: float = param(
        1.0, unit="-",
        source=(
            "assumed: MDSCs up-regulate PD-L1 and drive CD8+ exhaustion (Gabrilovich & "
            "Nagaraj, Nat Rev Immunol 2009 [M]); saturating MDSCs double the exhaustion rate"
        ),
        description="maximal fractional increase of PD-1 exhaustion by functional MDSCs pi_X",
    )  # fmt: skip
    mdsc_growth_half_sat: float = param(
        1.5e9, unit="cells", source="assumed: same scale as MDSC suppression of effectors",
        description="functional MDSCs giving half the maximal growth promotion M50_growth",
    )  # fmt: skip
    resistant_immune_visibility: float = param(
        1.0, unit="-", upper=1.0,
        source="assumed: resistance to chemotherapy does not hide cells from T cells",
        description="immune kill of resistant relative to sensitive cells iota_R (knockout 0)",
    )  # fmt: skip
    mdsc_half_suppression_recruit: float = param(
        1.5e9, unit="cells", source="calibrated: P3 (chemo turns most tumours cold)",
        description="functional MDSCs halving effector recruitment M50_recruit",
    )  # fmt: skip
    mdsc_half_suppression_kill: float = param(
        6.59554e+08, unit="cells", source=_PI,
        description="functional MDSCs halving effector killing M50_kill",
    )  # fmt: skip
    # --- anti-PD-1 ------------------------------------------------------------------------
    anti_pd1_elimination_rate: float = param(
        math.log(2.0) / 22.0, unit="1/day",
        source=(
            "pembrolizumab label: terminal half-life 22 days"
        ),
        description="anti-PD-1 elimination rate k_el_A",
    )  # fmt: skip
    anti_pd1_ec50: float = param(
        0.02, unit="standard-dose units",
        source=(
            "target engagement saturates at >= 1 mg/kg q3w (Patnaik et al. Clin Cancer Res "
            "2015; pembrolizumab label): ~95% occupancy at the 1 mg/kg q3w trough (0.37 "
            "units), 98% at the 200 mg q3w trough, so weekly dosing adds exposure, not effect"
        ),
        description="anti-PD-1 level giving half-maximal PD-1 occupancy A50",
    )  # fmt: skip
    irae_rate: float = param(
        0.00085246627, unit="1/day",
        source=(
            "calibrated: immune-mediated AEs in 23.7% of patients on pembrolizumab "
            "monotherapy (pooled, PMC11227881) by experiments/irae_calibration.py (Brent, "
            "300 train patients, model v2); KEYNOTE-189 then gives 27.3% (22.7% [M])"
        ),
        description="irAE hazard at full exposure, median susceptibility, presentation immunity",
    )  # fmt: skip
    irae_exposure_half_sat: float = param(
        2.0, unit="standard-dose units",
        source=(
            "assumed: irAE risk rises with antibody exposure above the level that saturates "
            "PD-1 (flat exposure-safety over 2-10 mg/kg q3w, label; weekly 200 mg ~1.6x q3w)"
        ),
        description="anti-PD-1 level of half-maximal irAE hazard A50_irAE",
    )  # fmt: skip
    irae_susceptibility: float = param(
        1.0, unit="-",
        source="per-patient (cohort): log-normal, not observed (irAE-prone patients)",
        description="patient multiplier of the irAE hazard",
    )  # fmt: skip
    irae_severe_fraction: float = param(
        0.25, unit="-", upper=1.0,
        source=(
            "calibrated: patients with a grade 3-5 irAE, 6.3% pooled monotherapy "
            "(PMC11227881) and 8.9% KEYNOTE-189 [M]; a patient can have several irAEs, so the "
            "per-event fraction (0.25) sits below the per-patient 0.27-0.39 "
            "(experiments/irae_calibration.py prints both arms)"
        ),
        description="fraction of irAEs of grade 3-5",
    )  # fmt: skip
    irae_fatal_fraction: float = param(
        0.003, unit="-", upper=1.0,
        source=(
            "calibrated: irAE deaths in 0.2% of patients on pembrolizumab monotherapy "
            "(PMC11227881); per event, with recurrences: 0.003"
        ),
        description="fraction of irAEs that are fatal (grade 5)",
    )  # fmt: skip
    # --- suppressor-inhibitor -------------------------------------------------------------
    inhibitor_elimination_rate: float = param(
        0.277, unit="1/day", source=f"{_DP13} eta (sunitinib t1/2 2.5 d)",
        description="inhibitor elimination rate k_el_I",
    )  # fmt: skip
    inhibitor_ec50: float = param(
        1.0, unit="daily-dose units",
        source=(
            "assumed: labelled dose gives ~80% of maximal effect at steady state"
        ),
        description="inhibitor level of half-maximal effect I50",
    )  # fmt: skip
    inhibitor_recruitment_block: float = param(
        0.5, unit="-", upper=1.0,
        source=(
            "grounded: MDSC-targeting agents lower blood MDSCs by a third to a half "
            "(tadalafil 0.81- vs 1.26-fold, Califano 2015; CXCR2 antagonism lowered ANC "
            "44-48%, Armstrong 2024); 0.5 x Ih(0.78 at the labelled dose) = 39% at steady state"
        ),
        description="maximal fractional block of MDSC recruitment",
    )  # fmt: skip
    inhibitor_function_block: float = param(
        0.0, unit="-", upper=1.0,
        source="CXCR2 antagonists block MDSC trafficking, not their suppressive function",
        description="maximal fractional block of MDSC suppressive function",
    )  # fmt: skip
    inhibitor_neutrophil_effect: float = param(
        0.12, unit="-", upper=1.0,
        source=(
            "calibrated: navarixin lowered blood ANC by 44-48% (Armstrong et al. Invest New "
            "Drugs 2024): (1 - 0.12 x 0.78)^(1/gamma) = 0.54 at steady state"
        ),
        description="maximal fractional cut of neutrophil progenitor proliferation e_I",
    )  # fmt: skip
    # --- corticosteroids (irAE management) ------------------------------------------------
    steroid_suppression: float = param(
        0.6, unit="-", upper=1.0,
        source=(
            "assumed: prednisone 1-2 mg/kg/day lowers effector T-cell function and number "
            "by more than half for the taper (label and ASCO/NCCN irAE guidance [M])"
        ),
        description="maximal fractional suppression of effector recruitment and killing s_G",
    )  # fmt: skip
    steroid_ec50: float = param(
        0.25, unit="prednisone mg/kg/day",
        source="assumed: 1 mg/kg/day gives 80% of the maximal effect",
        description="steroid effect level of half-maximal suppression G50",
    )  # fmt: skip
    steroid_elimination_rate: float = param(
        1.0, unit="1/day",
        source="assumed: lymphocyte effects wane within ~1 day after a dose (prednisolone)",
        description="decay rate k_el_G of the steroid effect",
    )  # fmt: skip
    # --- PD-L1 (model v2) -----------------------------------------------------------------
    pdl1_tps: float = param(
        0.30, unit="fraction of tumour cells", upper=1.0,
        source=(
            "per-patient (cohort): PD-L1 tumour proportion score, 22C3 assay, measured at "
            "diagnosis; strata < 1%, 1-49%, >= 50% in KEYNOTE-189's baseline mix "
            "(Gandhi et al. NEJM 2018, Table 1)"
        ),
        description="PD-L1 tumour proportion score TPS",
    )  # fmt: skip
    pd1_blockable_floor: float = param(
        0.405409, unit="-", upper=1.0,
        source=(
            "calibrated: model-v2 panel (KEYNOTE-024 and the FDA pooled chemo-IO vs IO "
            "strata). At TPS 0 T-cell dysfunction runs mostly through other routes "
            "(PD-L1 on myeloid cells, TIM-3/LAG-3; Teng et al. Cancer Res 2015 [M])"
        ),
        description="share phi_0 of PD-1 exhaustion that anti-PD-1 can block at TPS 0",
    )  # fmt: skip
    pd1_tps_half_sat: float = param(
        0.0906455, unit="fraction of tumour cells",
        source=(
            "calibrated: the model-v2 trial panel (experiments/calibrate_tme.py); tumour "
            "PD-L1 is the ligand anti-PD-1 blocks (adaptive immune resistance, Taube et al. "
            "Sci Transl Med 2012 [M])"
        ),
        description="TPS of half the TPS-dependent blockable share tps50",
    )  # fmt: skip
    # --- death hazard (model v2) -------------------------------------------------------------
    death_hazard_rate: float = param(
        0.000416447, unit="1/day",
        source=(
            "calibrated: model-v2 panel (early deaths, landmark OS). Tumour size is "
            "prognostic of OS under any treatment in NSCLC tumour-growth/OS models (Wang et "
            "al. Clin Pharmacol Ther 2009; Bruno et al. Clin Cancer Res 2020 [M])"
        ),
        description="death hazard h_ref of a patient of median frailty at the reference burden",
    )  # fmt: skip
    death_hazard_burden_ref: float = param(
        3e10, unit="cells", source="the cohort's median burden at presentation",
        description="reference burden N_ref of the death hazard",
    )  # fmt: skip
    death_hazard_exponent: float = param(
        1.0, unit="-",
        source=(
            "assumed: hazard proportional to burden (log-hazard linear in log burden, "
            "slope 1: a tenfold smaller tumour, a tenfold smaller hazard)"
        ),
        description="exponent beta of the burden in the death hazard",
    )  # fmt: skip
    death_frailty: float = param(
        1.0, unit="-",
        source=(
            "per-patient (cohort): performance status and comorbidity; ECOG 1 vs 0 carries "
            "an OS hazard ratio of about 1.5-2 in first-line NSCLC trials [M]"
        ),
        description="patient multiplier of the death hazard",
    )  # fmt: skip
    death_threshold: float = param(
        math.log(2.0), unit="-",
        source=(
            "per-patient (cohort): a unit-exponential draw; the patient dies when the "
            "cumulative death hazard reaches it (inverse-transform sampling, fixed per "
            "patient so that every arm of a paired trial sees the same patient); the "
            "default is the median draw, ln 2"
        ),
        description="cumulative death hazard at which the patient dies",
    )  # fmt: skip
    # --- neutrophils (Friberg) ------------------------------------------------------------
    neutrophil_baseline: float = param(
        5.05, unit="1e9 cells/L", source=f"{_FRI} Circ0 = 5.05e9/L",
        description="baseline absolute neutrophil count ANC0",
    )  # fmt: skip
    neutrophil_mean_transit_time: float = param(
        3.7, unit="days", source=f"{_FRI} MTT 89 h",
        description="mean transit time MTT (k_tr = 4 / MTT)",
    )  # fmt: skip
    neutrophil_feedback: float = param(
        0.161, unit="-", source=f"{_FRI} gamma = 0.161",
        description="feedback exponent gamma",
    )  # fmt: skip
    neutrophil_drug_ec50: float = param(
        0.189514,
        unit="full-dose units",
        source=(
            "Friberg 2002 structure with an Emax drug effect C/(C + C50_N) in place of the "
            "linear slope (keeps progenitor kill below 100%, smooth for the integrator); "
            + _TOX
        ),
        description="chemotherapy exposure halving progenitor proliferation C50_N",
    )  # fmt: skip

    @property
    def transit_rate(self) -> float:
        """Friberg transit rate k_tr = 4 / MTT (1/day)."""
        return 4.0 / self.neutrophil_mean_transit_time
