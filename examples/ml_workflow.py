"""The seed article's machine-learning workflow: GetData -> Preprocess -> Train.

Run it twice: the second run skips every task.  Edit ``TaskTrain.run`` and
run again: only TaskTrain reruns, and ``daskflow.why`` says which line changed.

    python examples/ml_workflow.py
"""

import pandas as pd
import sklearn.datasets
import sklearn.linear_model
import sklearn.metrics
import sklearn.preprocessing
import sklearn.svm

import daskflow as d6tflow


class TaskGetData(d6tflow.tasks.TaskPqPandas):  # save dataframe as parquet
    def run(self):
        ds = sklearn.datasets.load_breast_cancer()
        df_train = pd.DataFrame(ds.data, columns=ds.feature_names)
        df_train["y"] = ds.target
        self.save(df_train)


@d6tflow.requires(TaskGetData)  # define dependency
class TaskPreprocess(d6tflow.tasks.TaskPqPandas):
    do_preprocess = d6tflow.BoolParameter(default=True)  # parameter for preprocessing yes/no

    def run(self):
        df_train = self.input().load()
        if self.do_preprocess:
            df_train.iloc[:, :-1] = sklearn.preprocessing.scale(df_train.iloc[:, :-1])
        self.save(df_train)


@d6tflow.requires(TaskPreprocess)  # automatically pass parameters upstream
class TaskTrain(d6tflow.tasks.TaskPickle):  # save output as pickle
    model = d6tflow.Parameter(default="ols")  # parameter for model selection

    def run(self):
        df_train = self.input().load()
        if self.model == "ols":
            model = sklearn.linear_model.LogisticRegression(max_iter=5000)
        elif self.model == "svm":
            model = sklearn.svm.SVC()
        else:
            raise ValueError("invalid model selection")
        model.fit(df_train.drop("y", axis=1), df_train["y"])
        self.save(model)


def main():
    d6tflow.preview(TaskTrain())
    print(d6tflow.run(TaskTrain()))  # builds what is stale, skips the rest

    # compare models trained on differently preprocessed data
    d6tflow.preview(TaskTrain(do_preprocess=False))
    print(d6tflow.run(TaskTrain(do_preprocess=False)))
    for do_preprocess in (True, False):
        df_train = TaskPreprocess(do_preprocess=do_preprocess).output().load()
        model = TaskTrain(do_preprocess=do_preprocess).output().load()
        accuracy = sklearn.metrics.accuracy_score(df_train["y"], model.predict(df_train.iloc[:, :-1]))
        print(f"do_preprocess={do_preprocess}: accuracy {accuracy:.3f}")

    # every experiment in one dask graph; shared tasks run once
    flow = d6tflow.WorkflowMulti(TaskTrain, {"ols": {"model": "ols"}, "svm": {"model": "svm"}})
    print(flow.run())
    print({name: type(m).__name__ for name, m in flow.outputLoad().items()})
    print(d6tflow.why(TaskTrain(model="svm", do_preprocess=False)))


if __name__ == "__main__":
    main()
