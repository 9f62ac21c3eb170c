import functools
import math

RATE = 0.25
NAMES = ("a", "b")


def scale(x, factor=2):
    """Scale x."""
    return x * factor * RATE


def recursive(n):
    return 1 if n <= 1 else n * recursive(n - 1)


def ping(n):
    return pong(n - 1) if n else 0


def pong(n):
    return ping(n - 1) if n else 1


double = functools.partial(scale, factor=2)


class Helper:
    unit = "m"

    def apply(self, value):
        return f"{math.floor(value)}{self.unit}"
