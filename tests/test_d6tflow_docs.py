"""d6tflow's own documentation examples, as written there, with ``import daskflow as d6tflow``:
the minimal example (docs/example-minimal.py) and the README's (load_boston, gone from
scikit-learn, replaced by load_diabetes)."""

import contextlib
import io

import pandas as pd
import pytest

import daskflow as d6tflow


def test_minimal_example(root):
    class Task1(d6tflow.tasks.TaskCache):
        def run(self):
            df = pd.DataFrame({'a': range(3)})
            self.save(df)  # quickly save dataframe

    class Task2(Task1):
        pass

    @d6tflow.requires({'input1': Task1, 'input2': Task2})
    class Task3(d6tflow.tasks.TaskCache):
        multiplier = d6tflow.IntParameter(default=2)

        def run(self):
            df1 = self.input()['input1'].load()  # quickly load input data
            df2 = self.input()['input2'].load()  # quickly load input data
            df = df1.join(df2, lsuffix='1', rsuffix='2')
            df['b'] = df['a1'] * self.multiplier  # use task parameter
            self.save(df)

    flow = d6tflow.Workflow(Task3)
    assert {t.task_family for t in flow.run(scheduler="sync").ran} == {"Task1", "Task2", "Task3"}
    assert flow.outputLoad()["b"].tolist() == [0, 2, 4]
    flow2 = d6tflow.Workflow(Task3, {'multiplier': 3})
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        flow2.preview()
    assert "Task3-{'multiplier': '3'} (PENDING" in buf.getvalue()
    assert flow2.run(scheduler="sync") and flow2.outputLoad()["b"].tolist() == [0, 3, 6]


def test_readme_example(root):
    sklearn = pytest.importorskip("sklearn")
    import sklearn.datasets
    import sklearn.ensemble
    import sklearn.linear_model

    class GetData(d6tflow.tasks.TaskPqPandas):
        persist = ['x', 'y']

        def run(self):
            ds = sklearn.datasets.load_diabetes()
            df_trainX = pd.DataFrame(ds.data, columns=ds.feature_names)
            df_trainY = pd.DataFrame(ds.target, columns=['target'])
            self.save({'x': df_trainX, 'y': df_trainY})  # persist/cache training data

    @d6tflow.requires(GetData)  # define dependency
    class ModelTrain(d6tflow.tasks.TaskPickle):
        model = d6tflow.Parameter()  # parameter for model selection

        def run(self):
            df_trainX, df_trainY = self.inputLoad()  # quickly load input data
            if self.model == 'ols':  # select model based on parameter
                model = sklearn.linear_model.LinearRegression()
            elif self.model == 'gbm':
                model = sklearn.ensemble.GradientBoostingRegressor(n_estimators=10)
            model.fit(df_trainX, df_trainY['target'])
            self.save(model)  # persist/cache model
            self.saveMeta({'score': model.score(df_trainX, df_trainY)})  # save model score

    flow = d6tflow.WorkflowMulti(ModelTrain, {'model1': {'model': 'ols'}, 'model2': {'model': 'gbm'}})
    flow.reset_upstream(confirm=False)  # DEMO ONLY: force re-run
    flow.run(scheduler="sync")  # execute model training including all dependencies
    scores = flow.outputLoadMeta()  # load model scores
    assert set(scores) == {"model1", "model2"} and 0 < scores["model1"]["score"] < 1
