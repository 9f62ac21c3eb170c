"""A module that fails on import (a malformed task class): the CLI must say so and exit 2."""

import daskflow


class Clash(daskflow.tasks.TaskJson):
    persist = ["_hidden"]  # an output name may not start with "_": TaskDefinitionError
