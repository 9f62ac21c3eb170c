"""Task families for the no-op and scale benchmarks: layers of small pickle tasks.

``families(n_families)`` makes classes ``Layer00``, ``Layer01``, ... (the same
class objects on every call in a process).  Task ``Layer{k}(i=i)`` requires
``Layer{k-1}(i=i)`` and ``Layer{k-1}(i=(i+1) % width)``; ``variant`` is a second
parameter so parameter folders carry two values.  ``targets(n_families, width)``
is the last layer: building it builds ``n_families * width`` tasks.
"""

import daskflow


class NoopBase(daskflow.tasks.TaskPickle):
    upstream = None
    width = 0

    def requires(self):
        up = type(self).upstream
        if up is None:
            return []
        return [up(i=self.i, variant=self.variant), up(i=(self.i + 1) % self.width, variant=self.variant)]

    def run(self):
        total = sum(t.load()["i"] for t in self.input())
        self.save({"i": self.i, "total": total})


_CLASSES: dict = {}


def families(n_families: int, width: int) -> list:
    key = (n_families, width)
    if key not in _CLASSES:
        classes = []
        for k in range(n_families):
            name = f"Layer{k:02d}" if width == 1000 else f"Layer{k:02d}w{width}"
            cls = type(name, (NoopBase,), {
                "__module__": __name__,
                "i": daskflow.IntParameter(),
                "variant": daskflow.Parameter(default="a"),
                "upstream": classes[-1] if classes else None,
                "width": width,
            })
            globals()[name] = cls  # importable by reference, like a user's class
            classes.append(cls)
        _CLASSES[key] = classes
    return _CLASSES[key]


def targets(n_families: int, width: int) -> list:
    last = families(n_families, width)[-1]
    return [last(i=i) for i in range(width)]
