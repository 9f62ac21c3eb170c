"""Run the d6tflow-style project: settings, a Workflow, a WorkflowMulti, metadata, path/env.

    cd examples/d6tflow_project && python run.py
"""

import daskflow as d6tflow

import tasks

d6tflow.settings.log_level = "WARNING"


def main(root="data"):
    print("outputs in", d6tflow.set_dir(root))  # a pathlib.Path, as in d6tflow

    flow = d6tflow.Workflow(tasks.TaskTrain, {"model": "ols"})
    flow.preview()
    flow.run()
    model = flow.outputLoad()
    print("model:", type(model).__name__, "score:", flow.outputLoadMeta()["score"])
    print("data:", flow.outputLoadMeta(tasks.TaskPreprocess)["upstream"])

    flow2 = d6tflow.WorkflowMulti(tasks.TaskTrain, {"ols": {"model": "ols"}, "svm": {"model": "svm"}})
    flow2.run()  # both experiments in one dask graph: shared upstream tasks run once
    scores = flow2.outputLoadMeta()
    print("scores:", {k: round(v["score"], 3) for k, v in scores.items()})

    prod = d6tflow.Workflow(tasks.TaskTrain, env="prod")  # outputs under data/env=prod
    prod.run()
    print("prod model in", str(prod.outputPath()).split("env=")[0] + "env=prod/...")
    return scores


if __name__ == "__main__":
    main()
