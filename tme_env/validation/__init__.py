"""Model validation against the first-line trial panel (``tme validate``).

* `tme_env.validation.panel`: the published targets, their sources, bands and weights;
* `tme_env.validation.run`: the panel's arms (as the trials ran them, crossover included),
  run on one cohort, and each target's model value;
* `tme_env.validation.report`: the table (markdown, JSON), the forest plot and the KM figures.
"""

from tme_env.validation.panel import CHECKS, LANDMARK_MONTHS, PANEL, Target, band_of
from tme_env.validation.run import PANEL_ARMS, landmark_rows, panel_rows, run_panel

__all__ = [
    "CHECKS",
    "LANDMARK_MONTHS",
    "PANEL",
    "PANEL_ARMS",
    "Target",
    "band_of",
    "landmark_rows",
    "panel_rows",
    "run_panel",
]
