"""Standard clinical regimens.

* `tme_env.regimens.schedules`: each regimen's fixed dosing schedule as infusion lists for
  `tme_env.simulate` on the ``tme`` model;
* `tme_env.regimens.policies`: the same regimens as policies with SB3's ``predict``
  interface, adding the clinical rules (chemotherapy delayed while ANC < 1.5e9/L, reduced
  after grade-4 neutropenia). ``available()`` and ``get(name)`` are re-exported here.
"""

from tme_env.regimens import schedules
from tme_env.regimens.policies import REGIMENS, Regimen, available, get

__all__ = ["REGIMENS", "Regimen", "available", "get", "schedules"]
