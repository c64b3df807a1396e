"""Standard clinical regimens.

`tme_env.regimens.schedules` holds each regimen's dosing schedule as plain infusion lists for
`tme_env.simulate` on the ``tme`` model; the policies built on them (SB3 ``predict``
interface) share these definitions.
"""

from tme_env.regimens import schedules

__all__ = ["schedules"]
