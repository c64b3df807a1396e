"""Slow, obviously-correct reference implementations (the stumpy ``naive.py`` pattern).

The right-hand sides below are written out again from the published equations in plain
Python; they share no code with the package's compiled kernels. `solve_piecewise` integrates
them with scipy's DOP853 segment by segment (restarting at every schedule breakpoint).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

DEPILLIS2003 = dict(
    a1=0.2, a2=0.3, a3=0.1, b1=1.0, b2=1.0, c1=1.0, c2=0.5, c3=1.0, c4=1.0,
    d1=0.2, d2=1.0, r1=1.5, r2=1.0, s=0.33, alpha=0.3, rho=0.01,
)  # fmt: skip


def depillis2003_rhs(prm: dict, v: float):
    """f(t, [N, T, I, u]) of de Pillis & Radunskaya 2003 with drug input rate v."""

    def f(t, y):
        n, tum, imm, u = y
        kill = 1.0 - math.exp(-u)
        return [
            prm["r2"] * n * (1 - prm["b2"] * n) - prm["c4"] * tum * n - prm["a3"] * kill * n,
            prm["r1"] * tum * (1 - prm["b1"] * tum) - prm["c2"] * imm * tum
            - prm["c3"] * tum * n - prm["a2"] * kill * tum,
            prm["s"] + prm["rho"] * imm * tum / (prm["alpha"] + tum) - prm["c1"] * imm * tum
            - prm["d1"] * imm - prm["a1"] * kill * imm,
            v - prm["d2"] * u,
        ]  # fmt: skip

    return f


# de Pillis et al. 2013, section 4 text values (models.md §3a).
DEPILLIS2013 = dict(
    a=0.2065, b=2.145e-10, c=8.68e-10, lambda_T=1.590e-9, d=1.7, l=1.7, s=3.5e-2,
    e_over_f=0.1168, f=1.25e-2, p=6.682e-14, p_N=6.68e-2, g_N=2.5036e5, m=9e-3, q=3.422e-10,
    r1=8.68e-12, r2=1e-15, p_I=1.111, g_I=2.5036e3, z=2.3085e-13, kappa=2.5036e3, j=1.245e-1,
    k=2.019e7, w_over_u=1.22e-2, u=3.851e-2, p_R=3.598e-2, g_R=11.027, H_R=2.27e-2,
    lambda_R=50.02, alpha_over_beta=2.14e9, beta=6.3e-3, mu_I=11.7483, omega=7.879e-2,
    phi=2.5153e-7, zeta=2.5036e3, eta=0.277,
)  # fmt: skip

DEPILLIS2013_Y0 = {"T": 1e8, "N": 2.5e8, "L": 2.4e4, "R": 1.1e8, "C": 2.14e9, "I": 48.9, "S": 0.0}


def depillis2013_rhs(q: dict, v_s: float):
    """f(t, [T, N, L, R, C, I, S]) of de Pillis et al. 2013 with sunitinib input v_s."""

    def f(t, y):
        tum, nk, cd8, treg, circ, il2, sun = y
        if tum > 0 and cd8 > 0:
            # d (L/T)^l / (s + (L/T)^l) * T, divided through by (L/T)^l (finite as T -> 0)
            d_term = q["d"] * tum / (q["s"] * (tum / cd8) ** q["l"] + 1.0)
        else:
            d_term = 0.0
        return [
            q["a"] * tum * (1 - q["b"] * tum)
            - q["c"] * math.exp(-q["lambda_T"] * treg) * nk * tum - d_term,
            q["f"] * (q["e_over_f"] * circ - nk) - q["p"] * nk * tum
            + q["p_N"] * nk * il2 / (q["g_N"] + il2),
            -q["m"] * cd8 - q["q"] * cd8 * tum + (q["r1"] * nk + q["r2"] * circ) * tum
            + q["p_I"] * cd8 * il2 / (q["g_I"] + il2)
            - q["z"] * cd8**2 * treg * il2 / (q["kappa"] + il2)
            + q["j"] * tum / (q["k"] + tum) * cd8,
            q["u"] * (q["w_over_u"] * circ - treg) + q["p_R"] * treg * il2 / (q["g_R"] + il2)
            - q["H_R"] * (1 - math.exp(-q["lambda_R"] * sun)) * treg,
            q["beta"] * (q["alpha_over_beta"] - circ),
            -q["mu_I"] * il2 + q["phi"] * circ + q["omega"] * cd8 * il2 / (q["zeta"] + il2),
            v_s - q["eta"] * sun,
        ]  # fmt: skip

    return f


def solve_piecewise(make_rhs, y0, t_eval, infusions=(), rtol=1e-11, atol=1e-12):
    """Integrate ``make_rhs(rate)`` with DOP853, restarting at every infusion breakpoint.

    ``infusions`` are ``(start, end, rate)`` with a single scalar input; overlapping rates add.
    Returns an array of shape ``(n_states, len(t_eval))``.
    """
    t_eval = np.asarray(t_eval, dtype=float)
    cuts = sorted({t_eval[0], t_eval[-1], *(x for s, e, _ in infusions for x in (s, e)
                                             if t_eval[0] < x < t_eval[-1])})  # fmt: skip
    y = np.array(y0, dtype=float)
    out = np.empty((y.size, t_eval.size))
    out[:, t_eval == t_eval[0]] = y[:, None]
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        rate = sum(r for s, e, r in infusions if s <= a < e)
        inner = (t_eval > a) & (t_eval < b)
        sol = solve_ivp(make_rhs(rate), (a, b), y, method="DOP853", rtol=rtol, atol=atol,
                        t_eval=np.concatenate([t_eval[inner], [b]]))  # fmt: skip
        assert sol.success, sol.message
        out[:, inner] = sol.y[:, :-1]
        y = sol.y[:, -1]
        out[:, t_eval == b] = y[:, None]
    return out
