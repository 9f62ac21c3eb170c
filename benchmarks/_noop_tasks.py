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


def build(plan) -> int:
    """Build every stale task of ``plan`` in this thread, in topological order, through
    daskflow's own executor (``daskflow.execute``: outputs, then the commit marker, as a
    graph node would), without a dask graph: what it writes is what a run writes, for any
    storage layout.  Returns how many tasks it built; stops at the first failure."""
    from daskflow.execute import execute, known_outcome, spec_for

    outcomes = {}
    for node in plan.nodes.values():  # topological order: upstream first
        if not node.runs:
            outcomes[node.key] = known_outcome(node)
            continue
        outcome = execute(spec_for(node, plan.store), [outcomes[d.key] for d in node.deps])
        if outcome.status != "ran":
            raise SystemExit(f"building {node.task!r} failed: {outcome.status}\n{outcome.traceback}")
        outcomes[node.key] = outcome
    return len(plan.to_run())
