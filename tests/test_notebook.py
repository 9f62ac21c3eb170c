"""What a notebook shows: the ``_repr_html_`` of why, a run's result and the graph, parsed as HTML."""

import pytest

import daskflow
from cli_project import flow
from cli_project.htmltree import parse
from daskflow.viz import STATUSES


def run(task):
    return daskflow.run(task, scheduler="sync", progress=False)


def rows(doc):
    """(status class, task text, cell texts) of each table row."""
    out = []
    for tr in doc.find_all("tr", "dfv-row"):
        cells = tr.find_all("td")
        out.append((tr.classes[1], cells[0].text(), [c.text() for c in cells[1:]]))
    return out


def test_why_shows_each_task_its_status_and_reasons(root):
    run(flow.Train())
    report = daskflow.why(flow.Train(do_preprocess=False))
    doc = parse(report._repr_html_())
    summary = doc.find_all(cls="dfv-summary")[0].text()
    assert summary == "daskflow why: 3 tasks: 1 fresh, 2 will run"
    table = rows(doc)
    assert [(s, t) for s, t, _ in table] == [("dfv-run", "Train(model='ols', do_preprocess=False)"),
                                             ("dfv-run", "Preprocess(do_preprocess=False)"),
                                             ("dfv-fresh", "GetData()")]
    reasons = {tr.find_all("td")[0].text(): [(li.attrs["data-kind"], li.text()) for li in tr.find_all("li")]
               for tr in doc.find_all("tr", "dfv-row")}
    assert reasons["Preprocess(do_preprocess=False)"] == [
        ("no-output", "no output"), ("param-changed", "parameter do_preprocess changed: True -> False (given)")]
    assert reasons["Train(model='ols', do_preprocess=False)"][-1] == (
        "upstream", "upstream will run: Preprocess(do_preprocess=False)")
    assert reasons["GetData()"] == []
    badges = [b.text() for b in doc.find_all("span", "dfv-badge")]
    assert badges == ["will run", "will run", "fresh"]
    boxes = doc.find_all("g", "dfv-node")  # the picture comes with it
    assert sorted(g.attrs["data-family"] for g in boxes) == ["GetData", "Preprocess", "Train"]
    assert not doc.find_all("script")


def test_run_result_shows_what_ran_and_what_was_skipped(root):
    first = run(flow.Train())
    doc = parse(first._repr_html_())
    assert doc.find_all(cls="dfv-summary")[0].text() == "daskflow run ok: 3 ran, 0 skipped"
    table = rows(doc)
    assert [s for s, _, _ in table] == ["dfv-ran"] * 3
    assert {t for _, t, _ in table} == {"GetData()", "Preprocess(do_preprocess=True)",
                                        "Train(model='ols', do_preprocess=True)"}
    assert all(cells[1].endswith("s") and float(cells[1][:-1]) >= 0 for _, _, cells in table)
    again = rows(parse(run(flow.Train())._repr_html_()))
    assert [(s, cells[0]) for s, _, cells in again] == [("dfv-fresh", "skipped, fresh")] * 3


def test_failed_run_result_shows_the_error_and_its_traceback(root):
    with pytest.raises(daskflow.RunError) as err:
        run(flow.Report())
    doc = parse(err.value.result._repr_html_())
    assert doc.find_all(cls="dfv-summary")[0].text().startswith("daskflow run FAILED: ")
    table = rows(doc)
    assert table[0][:2] == ("dfv-failed", "Flaky(fail=True)")
    assert table[1][:2] == ("dfv-blocked", "Report(fail=True)")
    failed = doc.find_all("tr", "dfv-failed")[0]
    assert failed.find_all(cls="dfv-error")[0].text() == "ValueError: Flaky was told to fail"
    details = failed.find_all("details")[0]
    assert details.find_all("summary")[0].text() == "traceback"
    assert 'raise ValueError("Flaky was told to fail")' in details.find_all("pre")[0].text()


def test_graph_shows_boxes_legend_and_table(root):
    run(flow.GetData())
    drawing = daskflow.draw([flow.Typed(n=2), flow.Train()])
    assert repr(drawing) == "<Drawing: 4 tasks: 1 fresh, 3 will run>"
    doc = parse(drawing._repr_html_())
    legend = [s.text() for s in doc.find_all("span", "dfv-legend-item")]
    assert legend == ["fresh: 1", "will run: 3"]
    groups = doc.find_all("g", "dfv-node")
    assert sorted((g.attrs["data-family"], g.attrs["data-status"]) for g in groups) == [
        ("GetData", "fresh"), ("Preprocess", "run"), ("Train", "run"), ("Typed", "run")]
    for g in groups:
        fill = g.find_all("rect")[0].attrs["fill"]
        assert fill == STATUSES[g.attrs["data-status"]][1]
    typed = next(g for g in groups if g.attrs["data-family"] == "Typed")
    texts = [t.text() for t in typed.find_all("text")]
    assert texts[:5] == ["Typed", "n=2", "day=2024-01-01", "tags=[]", "label=<b>x</b> & y"]
    assert texts[5:] == ["will run", "no output"]
    assert "Typed(n=2," in typed.find_all("title")[0].text()
    assert not doc.find_all("b") and not doc.find_all("script")  # parameter text is escaped
    assert len(rows(doc)) == 4


def _executed(cells: list):
    """A notebook of ``cells`` run in a real kernel (ipykernel via nbclient), this daskflow on its path."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    import os
    from pathlib import Path

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env_path = os.pathsep.join([str(Path(daskflow.__file__).parent.parent), os.environ.get("PYTHONPATH", "")])
    os.environ["PYTHONPATH"], saved = env_path, os.environ.get("PYTHONPATH")
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    return nb


def test_progress_in_a_real_notebook_kernel(tmp_path):
    """A kernel (ipykernel via nbclient) runs tasks: the table shows when asked or when a run is long."""
    import sys
    from pathlib import Path

    tests = str(Path(__file__).parent)
    cells = [
        f"import sys, time\nsys.path.insert(0, {tests!r})\nimport daskflow\n"
        f"daskflow.set_root({str(tmp_path / 'store')!r})\nfrom flows import Leaf, Sum\n"
        "class Slow(daskflow.tasks.TaskJson):\n"
        "    def run(self):\n        time.sleep(1.5)\n        self.save(1)\n",
        "daskflow.run(Sum(upto=3), scheduler='sync', progress=True).summary()",
        "daskflow.run(Leaf(i=5), scheduler='sync').summary()",  # quick: nothing shown
        "daskflow.run(Slow(), scheduler='sync').summary()",  # over a second: shown
    ]
    nb = _executed(cells)

    def shown(cell):
        return "\n".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.outputs)

    asked, quick, slow = (shown(c) for c in nb.cells[1:])
    assert "daskflow on sync" in asked and "4 of 4 tasks" in asked and "'4 ran, 0 skipped'" in asked
    assert "Leaf" in asked and "Sum" in asked
    assert "daskflow on sync" not in quick and "'1 ran, 0 skipped'" in quick
    assert "daskflow on sync" in slow and "Slow" in slow and "1 of 1 tasks" in slow
    assert "ipywidgets" not in asked + quick + slow  # no warning from rich
    from daskflow import progress

    assert "ipykernel" in sys.modules  # nbclient imported it here, yet this process is no notebook:
    assert not progress.in_notebook() and not progress.enabled(None)


def test_a_cell_run_again_defines_its_task_anew_and_the_newest_definition_runs(tmp_path):
    """A notebook's habit: the cell of an upstream task run again (edited), a decorator in
    another cell still holding the earlier class: the newest definition is planned and run."""
    get_data = ("class TaskGetData(daskflow.tasks.TaskPqPandas):\n    def run(self):\n"
                "        self.save(pd.DataFrame({'a': range(N)}))\n")
    cells = [
        f"import warnings\nimport pandas as pd\nimport daskflow\ndaskflow.set_root({str(tmp_path / 'store')!r})\nN = 3",
        get_data,
        "@daskflow.requires(TaskGetData)\nclass TaskTrain(daskflow.tasks.TaskPqPandas):\n    def run(self):\n"
        "        self.save(self.inputLoad() * 2)\n\nclass TaskReport(daskflow.tasks.TaskJson):\n"
        "    def requires(self):\n        return {'train': TaskTrain(), 'data': TaskGetData()}\n"
        "    def run(self):\n        self.save({'n': len(self.inputLoad()['train'])})\n",
        "print(sorted(map(repr, daskflow.run(TaskReport(), scheduler='sync', progress=False).ran)))",
        get_data.replace("range(N)", "range(N + 2)"),  # the cell edited and run again
        "with warnings.catch_warnings(record=True) as caught:\n    warnings.simplefilter('always')\n"
        "    r = daskflow.run(TaskReport(), scheduler='sync', progress=False)\n"
        "print(sorted(map(repr, r.ran)), TaskReport().outputLoad(), [str(w.message)[:29] for w in caught])",
    ]
    nb = _executed(cells)
    first, second = (c.outputs[0]["text"].strip() for c in (nb.cells[3], nb.cells[5]))
    assert first == "['TaskGetData()', 'TaskReport()', 'TaskTrain()']"
    assert second == ("['TaskGetData()', 'TaskReport()', 'TaskTrain()'] {'n': 5} "
                      "['TaskGetData was defined again']")
