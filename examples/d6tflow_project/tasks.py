"""The tasks of a d6tflow-style project, written the way d6tflow's documentation writes them.

Only the import line differs from a d6tflow project: ``import daskflow as d6tflow``.
"""

import pandas as pd
import sklearn.datasets
import sklearn.linear_model
import sklearn.preprocessing
import sklearn.svm

import daskflow as d6tflow


class TaskGetData(d6tflow.tasks.TaskCachePandas):  # in memory: cheap to recompute, never stored
    def run(self):
        ds = sklearn.datasets.load_breast_cancer()
        df_train = pd.DataFrame(ds.data, columns=ds.feature_names)
        df_train["y"] = ds.target
        self.save(df_train)
        self.metaSave({"rows": len(df_train), "source": "sklearn breast_cancer"})


@d6tflow.requires(TaskGetData)
class TaskPreprocess(d6tflow.tasks.TaskPqPandas):  # stored as parquet
    do_preprocess = d6tflow.BoolParameter(default=True)

    def run(self):
        df_train = self.input().load()
        if self.do_preprocess:
            df_train.iloc[:, :-1] = sklearn.preprocessing.scale(df_train.iloc[:, :-1])
        self.save(df_train)
        self.metaSave({"upstream": self.metaLoad(), "scaled": self.do_preprocess})


@d6tflow.requires(TaskPreprocess)
class TaskTrain(d6tflow.tasks.TaskPickle):
    model = d6tflow.Parameter(default="ols")

    def run(self):
        df_train = self.input().load()
        if self.model == "ols":
            model = sklearn.linear_model.LogisticRegression()
        elif self.model == "svm":
            model = sklearn.svm.SVC()
        else:
            raise ValueError("invalid model selection")
        model.fit(df_train.drop("y", axis=1), df_train["y"])
        self.save(model)
        self.metaSave({"score": float(model.score(df_train.drop("y", axis=1), df_train["y"]))})
