"""d6tflow beside the hand-written dask baseline, in d6tflow's own virtualenv.

Run by ``overhead.py`` with the interpreter that has d6tflow (it needs d6tflow,
pandas, pyarrow and dask).  Alternates d6tflow and baseline runs on the same
shapes and prints one JSON line: {"shape|fmt": {"d6tflow": [...], "baseline": [...]}}
with seconds per run.  d6tflow runs luigi's local scheduler with 1 worker (its
default); the baseline runs dask's threaded scheduler, as in overhead.py.
"""

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
warnings.filterwarnings("ignore")

import _common as C  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default=",".join(C.DEFAULT_SHAPES))
    ap.add_argument("--formats", default="pickle,parquet")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import io
    import contextlib

    with contextlib.redirect_stdout(io.StringIO()):
        import d6tflow
        import luigi
    logging.getLogger("luigi").setLevel(logging.CRITICAL)
    logging.getLogger("luigi-interface").setLevel(logging.CRITICAL)
    d6tflow.settings.log_level = "CRITICAL"
    d6tflow.settings.execution_summary = False

    class D6Pickle(d6tflow.tasks.TaskPickle):
        shape = luigi.Parameter()
        i = luigi.IntParameter()

        def requires(self):
            return [D6Pickle(shape=self.shape, i=j) for j in C.deps_of(self.shape, self.i)]

        def run(self):
            inputs = self.inputLoad() if C.deps_of(self.shape, self.i) else []
            self.save(C.make_pickle(self.i, inputs))

    class D6Parquet(d6tflow.tasks.TaskPqPandas):
        shape = luigi.Parameter()
        i = luigi.IntParameter()

        def requires(self):
            return [D6Parquet(shape=self.shape, i=j) for j in C.deps_of(self.shape, self.i)]

        def run(self):
            inputs = self.inputLoad() if C.deps_of(self.shape, self.i) else []
            self.save(C.make_frame(self.i, inputs))

    classes = {"pickle": D6Pickle, "parquet": D6Parquet}
    out = {}
    for shape in args.shapes.split(","):
        for fmt in args.formats.split(","):
            cls = classes[fmt]
            times = {"d6tflow": [], "baseline": []}
            for k in range(args.repeat + 1):  # the first pair is a warm-up
                tmp = tempfile.mkdtemp(prefix="bench-d6t-")
                try:
                    d6tflow.set_dir(os.path.join(tmp, "d6t"))
                    with contextlib.redirect_stdout(io.StringIO()):
                        t = C.timed(d6tflow.run, cls(shape=shape, i=C.target(shape)), workers=1,
                                    execution_summary=False)
                        if not cls(shape=shape, i=C.target(shape)).complete():
                            raise SystemExit(f"d6tflow did not build {shape} {fmt}")
                    b = C.timed(C.run_baseline, shape, fmt, os.path.join(tmp, "bl"), "threads")
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
                if k:
                    times["d6tflow"].append(t)
                    times["baseline"].append(b)
            out[f"{shape}|{fmt}"] = times
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
