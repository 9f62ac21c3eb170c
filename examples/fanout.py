"""One model per CSV file in a folder: a fan-out over a list known only at run time.

A data engineer drops one CSV of daily sales per store into a folder.  ``Sales``
reads them all; ``Stores`` is the list of stores found (known only once
``Sales`` has run); ``Report`` fans out one ``Fit`` per store with
``daskflow.map`` and collects the models.  Each branch is an ordinary task:
when a file is added, one new model is fitted; when one file changes, only its
model (and the report) are refitted, because the per-store slices that did not
change are identical and stop the rebuild there (early cutoff).

    python examples/fanout.py                  # a temp folder and storage root
    python examples/fanout.py --root data/     # keep the outputs
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
import pandas as pd

import daskflow


class Sales(daskflow.tasks.TaskPqPandas):
    """Every CSV of the folder, one per store (the file name is the store)."""

    folder = daskflow.Parameter()

    def run(self):
        frames = [pd.read_csv(os.path.join(self.folder, name)).assign(store=name[:-4])
                  for name in sorted(os.listdir(self.folder)) if name.endswith(".csv")]
        self.save(pd.concat(frames, ignore_index=True))


class Stores(daskflow.tasks.TaskJson):
    """The stores found in the data: the list the report fans out over."""

    folder = daskflow.Parameter()

    def requires(self):
        return Sales(folder=self.folder)

    def run(self):
        self.save(sorted(self.inputLoad()["store"].unique().tolist()))


class StoreSales(daskflow.tasks.TaskCSVPandas):
    """The rows of one store: cheap to rebuild, identical when the store's file did not change."""

    folder = daskflow.Parameter()
    store = daskflow.Parameter()

    def requires(self):
        return Sales(folder=self.folder)

    def run(self):
        df = self.inputLoad()
        self.save(df[df["store"] == self.store][["day", "units"]].reset_index(drop=True))


class Fit(daskflow.tasks.TaskJson):
    """One model per store: a linear trend of units sold per day."""

    folder = daskflow.Parameter()
    store = daskflow.Parameter()

    def requires(self):
        return StoreSales(folder=self.folder, store=self.store)

    def run(self):
        df = self.inputLoad()
        slope, intercept = np.polyfit(df["day"], df["units"], 1)
        self.save({"store": self.store, "slope": round(float(slope), 4),
                   "intercept": round(float(intercept), 4)})


class Report(daskflow.tasks.TaskCSVPandas):
    """The models of every store found, side by side."""

    folder = daskflow.Parameter()

    def requires(self):
        return daskflow.map(Fit, over=Stores(folder=self.folder), param="store", folder=self.folder)

    def run(self):
        self.save(pd.DataFrame(self.inputLoad()))


def write_store(folder: str, store: str, trend: float) -> None:
    days = np.arange(30)
    pd.DataFrame({"day": days, "units": (50 + trend * days).round(2)}).to_csv(
        os.path.join(folder, f"{store}.csv"), index=False)


def _name(task) -> str:
    store = task.param_kwargs.get("store")
    return f"{task.task_family}({store})" if store else task.task_family


def show(title: str, result) -> None:
    ran = ", ".join(sorted(map(_name, result.ran))) or "nothing"
    cut = ", ".join(sorted(map(_name, result.cutoff)))
    print(f"\n== {title}\nran: {ran}" + (f"\ncut off (identical inputs): {cut}" if cut else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=None, help="storage root (default: a temp folder)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="daskflow-fanout-")
    daskflow.set_root(args.root or os.path.join(work, "data"))
    folder = os.path.join(work, "sales")
    os.makedirs(folder)
    for store, trend in (("berlin", 1.0), ("lyon", -0.5), ("porto", 0.2)):
        write_store(folder, store, trend)
    report = Report(folder=folder)

    print("before anything is built:")
    daskflow.preview(report)  # Report: PENDING, expands after Stores(...)
    show("first run: the list, then one model per store", daskflow.run(report))
    show("again: nothing changed", daskflow.run(report))

    write_store(folder, "turin", 2.0)  # a new file arrives
    Sales(folder=folder).invalidate()  # new raw data: reload it
    show("a file was added: one new model", daskflow.run(report))

    write_store(folder, "lyon", 0.7)  # one file is replaced
    Sales(folder=folder).invalidate()
    show("one file changed: only its model is refitted", daskflow.run(report))
    print()
    print(report.outputLoad().to_string(index=False))


if __name__ == "__main__":
    main()
