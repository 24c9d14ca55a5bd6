"""The ``memcosim`` command line: one sub-command per job (see ``memcosim --help``)."""

from memcosim.cli.main import main

__all__ = ["main"]
