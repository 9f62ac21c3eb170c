"""``python -m daskflow``: the same command as the ``daskflow`` console script (see ``daskflow.cli``)."""

from .cli import main

if __name__ == "__main__":  # pragma: no cover
    main(prog_name="daskflow")
