"""``python -m tme_env.cli``: the ``tme`` command."""

from tme_env.cli import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
