"""Standard clinical regimens.

* `tme_env.regimens.schedules`: each regimen's fixed dosing schedule as infusion lists for
  `tme_env.simulate` on the ``tme`` model;
* `tme_env.regimens.policies`: the same regimens as policies with SB3's ``predict``
  interface, adding the clinical rules (chemotherapy delayed while ANC < 1.5e9/L, reduced
  after grade-4 neutropenia). ``available()`` and ``get(name)`` are re-exported here;
* `tme_env.regimens.family`: the fixed-schedule family and the monitoring-driven rules;
* `tme_env.regimens.codes`: the string codes of a regimen as enums (`ChemoPlan`,
  `AntiPD1Plan`, `AntiPD1Interval`, `InhibitorTiming`), each member equal to its string.
"""

from tme_env.regimens import schedules
from tme_env.regimens.codes import AntiPD1Interval, AntiPD1Plan, ChemoPlan, InhibitorTiming
from tme_env.regimens.policies import REGIMENS, Regimen, RegimenSpec, available, get

__all__ = [
    "REGIMENS",
    "AntiPD1Interval",
    "AntiPD1Plan",
    "ChemoPlan",
    "InhibitorTiming",
    "Regimen",
    "RegimenSpec",
    "available",
    "get",
    "schedules",
]
