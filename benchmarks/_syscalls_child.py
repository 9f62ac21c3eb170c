"""Child of ``benchmarks/syscalls.py``: warm up, then build one graph (daskflow or the
hand-written baseline) between two marker calls the parent finds in the trace."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

side, shape, fmt, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
folder = tempfile.mkdtemp(prefix="bench-syscalls-", dir=os.environ.get("BENCH_TMPDIR"))
cls = None
if side == "daskflow":
    import daskflow
    from _overhead_tasks import CLASSES
    cls = CLASSES[fmt]


def build(k):
    if cls is not None:
        daskflow.set_root(f"{folder}/r{k}")
        result = daskflow.run(cls(shape=shape, i=C.target(shape)), scheduler="sync", progress=False)
        assert len(result.ran) == C.n_tasks(shape), result
    else:
        C.run_baseline(shape, fmt, f"{folder}/b{k}", scheduler="sync")


build("warm")  # imports, class fingerprints, first folders: not measured
os.path.exists("/daskflow-bench-start")
for k in range(repeat):
    build(k)
os.path.exists("/daskflow-bench-stop")
