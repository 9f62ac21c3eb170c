"""The smallest daskflow workflow, with pandas only: two tasks and a parameter.

    python examples/minimal.py
"""

import pandas as pd

import daskflow


class GetData(daskflow.tasks.TaskPqPandas):
    def run(self):
        self.save(pd.DataFrame({"x": range(10), "y": [0, 1] * 5}))


@daskflow.requires(GetData)
class Summarise(daskflow.tasks.TaskJson):
    column = daskflow.ChoiceParameter(choices=["x", "y"], default="x")

    def run(self):
        df = self.inputLoad()
        self.save({"column": self.column, "mean": float(df[self.column].mean())})


if __name__ == "__main__":
    daskflow.preview(Summarise())
    print(daskflow.run([Summarise(column="x"), Summarise(column="y")]))
    print(Summarise(column="y").outputLoad())
    print(daskflow.why(Summarise()))
