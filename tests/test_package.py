"""Package-level behaviour: public API, registry, on-disk compilation cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import tme_env


def test_public_api():
    assert tme_env.models.available() == ("depillis2003", "depillis2013", "tme")
    for name in ("simulate", "simulate_batch", "SimulationError", "Trajectory", "__version__"):
        assert hasattr(tme_env, name)


def test_second_process_loads_kernels_from_the_cache(tmp_path):
    # Two fresh interpreters share a NUMBA_CACHE_DIR: the first compiles and writes the cache,
    # the second must load every kernel from it (cache hits, no misses).
    script = textwrap.dedent(
        """
        import numpy as np, tme_env
        from tme_env.simulator import integrator as kernels
        tme_env.simulate("depillis2003", t_eval=np.linspace(0, 30, 4),
                         infusions=[(0, 2, {"v": 1.0})])
        tme_env.simulate_batch("depillis2013", t_eval=[0, 30], n_patients=2)
        hits = sum(sum(k.stats.cache_hits.values()) for k in
                   (kernels.integrate_single, kernels.integrate_batch))
        misses = sum(sum(k.stats.cache_misses.values()) for k in
                     (kernels.integrate_single, kernels.integrate_batch))
        print(hits, misses)
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.split()  # fmt: skip
        for _ in range(2)
    ]
    assert runs[0] == ["0", "2"]  # cold: both kernels compiled
    assert runs[1] == ["2", "0"]  # warm: both loaded from disk


def test_import_is_light():
    # `import tme_env` registers the environments but must not pull in torch / SB3; neither
    # may the `tme` command's module or the agents package before an agent is used.
    code = (
        "import sys, tme_env, tme_env.agents, tme_env.cli; "
        "print('torch' in sys.modules, 'stable_baselines3' in sys.modules); "
        "tme_env.agents.make_sb3_vec_env('tme/TumorImmune-v2', n_envs=2, cohort_size=4); "
        "print('stable_baselines3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def test_agents_code_is_in_the_package_and_the_top_level_agents_folder_is_data():
    # The code is tme_env.agents, whose default hyperparameters are package data (pip install
    # and `tme train` need no repository). The repository's top-level agents/ folder holds what
    # the project trains and publishes: data only (no __init__.py, no code), never installed
    # (packages.find includes tme_env* only), so no `agents` package can clash in site-packages.
    import re
    from importlib import resources
    from importlib.util import find_spec
    from pathlib import Path

    yamls = {f.name for f in (resources.files("tme_env.agents") / "hyperparams").iterdir()}
    assert {"ppo.yml", "a2c.yml", "sac.yml", "td3.yml", "dqn.yml", "recurrentppo.yml"} <= yamls
    assert not {"tuned", "zoo"} & yamls  # published in agents/, not shipped
    root = Path(__file__).parents[1]
    folder = root / "agents"
    assert (folder / "README.md").is_file()
    assert not [p for p in folder.rglob("*.py")], "agents/ is data, not a package"
    pyproject = (root / "pyproject.toml").read_text()
    assert re.search(r'\[tool.setuptools.packages.find\]\ninclude = \["tme_env\*"\]', pyproject)
    spec = find_spec("agents")  # from a checkout, at most the folder as a namespace (no code)
    assert spec is None or spec.origin in (None, "namespace"), spec
