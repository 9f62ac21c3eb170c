"""Dynamic branches (daskflow.dynamic, daskflow.stages): a requires() that reads an upstream
task's output.  Each run counts which task bodies executed (CALLS)."""

from __future__ import annotations

import collections

import pandas as pd
import pytest

import daskflow
from daskflow.storage import Store

CALLS = collections.Counter()
FAIL = set()  # branch items whose run() raises


class Items(daskflow.tasks.TaskJson):
    """The list: known only once this task has run."""

    items = daskflow.ListParameter()

    def run(self):
        CALLS["Items"] += 1
        self.save(list(self.items))


class Branch(daskflow.tasks.TaskJson):
    item = daskflow.Parameter()

    def run(self):
        CALLS[f"Branch {self.item}"] += 1
        if self.item in FAIL:
            raise ValueError(f"branch {self.item} planned to fail")
        self.save({"item": self.item, "score": len(str(self.item))})


class Combine(daskflow.tasks.TaskJson):
    items = daskflow.ListParameter()

    def requires(self):
        return daskflow.map(Branch, over=Items(items=self.items), param="item")

    def run(self):
        CALLS["Combine"] += 1
        self.save(sorted(x["item"] for x in self.inputLoad()))


class CombineInputOf(daskflow.tasks.TaskJson):
    """The same fan-out written with input_of(); the list also reaches run() through requires()."""

    items = daskflow.ListParameter()

    def requires(self):
        listing = Items(items=self.items)
        values = self.input_of(listing).load()
        return {"list": listing, "branches": [Branch(item=v) for v in values]}

    def run(self):
        CALLS["CombineInputOf"] += 1
        self.save({"list": self.input()["list"].load(),
                   "n": len(self.inputLoad(task="branches"))})


class StaticCombine(daskflow.tasks.TaskJson):
    """The same graph with the list written out: the baseline for listing counts."""

    items = daskflow.ListParameter()

    def requires(self):
        return [Branch(item=v) for v in self.items] + [Items(items=self.items)]

    def run(self):
        self.save(len(self.items))


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    FAIL.clear()
    yield


def ran(result) -> set:
    return {repr(t) for t in result.ran}


def test_first_run_builds_the_list_then_the_branches(root):
    result = daskflow.run(Combine(items=["a", "b", "c"]), scheduler="sync")
    assert ran(result) == {"Items(items=('a', 'b', 'c'))", "Branch(item='a')", "Branch(item='b')",
                           "Branch(item='c')", "Combine(items=('a', 'b', 'c'))"}
    assert Combine(items=["a", "b", "c"]).outputLoad() == ["a", "b", "c"]
    assert sum(CALLS.values()) == 5


def test_unchanged_list_runs_nothing(root):
    daskflow.run(Combine(items=["a", "b"]), scheduler="sync")
    CALLS.clear()
    again = daskflow.run(Combine(items=["a", "b"]), scheduler="sync")
    assert again.ran == [] and len(again.skipped) == 4
    assert not CALLS
    assert Combine(items=["a", "b"]).complete()


def test_growing_the_list_by_one_runs_one_branch(root):
    daskflow.run(Combine(items=["a", "b", "c"]), scheduler="sync")
    CALLS.clear()
    result = daskflow.run(Combine(items=["a", "b", "c", "d"]), scheduler="sync")
    branches = [t for t in result.ran if isinstance(t, Branch)]
    assert branches == [Branch(item="d")]
    assert CALLS == {"Items": 1, "Branch d": 1, "Combine": 1}
    assert Combine(items=["a", "b", "c", "d"]).outputLoad() == ["a", "b", "c", "d"]


def test_changing_one_item_runs_one_branch_and_the_combiner(root):
    daskflow.run(Combine(items=["a", "b", "c"]), scheduler="sync")
    CALLS.clear()
    result = daskflow.run(Combine(items=["a", "B", "c"]), scheduler="sync")
    assert CALLS == {"Items": 1, "Branch B": 1, "Combine": 1}
    assert Branch(item="a") in result.skipped and Branch(item="c") in result.skipped


def test_input_of_works_like_map_and_reaches_run(root):
    daskflow.run(CombineInputOf(items=[1, 2]), scheduler="sync")
    assert CombineInputOf(items=[1, 2]).outputLoad() == {"list": [1, 2], "n": 2}
    CALLS.clear()
    assert daskflow.run(CombineInputOf(items=[1, 2]), scheduler="sync").ran == []
    assert not CALLS


def test_a_failing_branch_does_not_stop_the_others(root):
    FAIL.add("b")
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run(Combine(items=["a", "b", "c"]), scheduler="sync")
    assert "Branch(item='b')" in str(err.value)
    assert isinstance(err.value.__cause__, ValueError)
    result = err.value.result
    assert [f.task for f in result.failed] == [Branch(item="b")]
    assert {Branch(item="a"), Branch(item="c")} <= set(result.ran)
    assert result.upstream_failed == [Combine(items=["a", "b", "c"])]
    FAIL.clear()
    CALLS.clear()
    daskflow.run(Combine(items=["a", "b", "c"]), scheduler="sync")
    assert CALLS == {"Branch b": 1, "Combine": 1}


class Broken(daskflow.tasks.TaskJson):
    def run(self):
        raise RuntimeError("the list cannot be made")


class AfterBroken(daskflow.tasks.TaskJson):
    def requires(self):
        return daskflow.map(Branch, over=Broken(), param="item")

    def run(self):
        self.save(0)


def test_a_failing_list_task_leaves_the_expansion_not_run(root):
    with pytest.raises(daskflow.RunError) as err:
        daskflow.run([AfterBroken(), Branch(item="x")], scheduler="sync")
    result = err.value.result
    assert [f.task for f in result.failed] == [Broken()]
    assert result.upstream_failed == [AfterBroken()]
    assert result.ran == [Branch(item="x")]  # an independent task of the same run


def test_preview_and_why_show_the_task_before_and_after_expansion(root, capsys):
    target = Combine(items=["a", "b"])
    report = daskflow.why(target)
    assert report[target].reasons[0].kind == "dynamic"
    assert str(report[target].reasons[0]) == "expands after Items(items=('a', 'b'))"
    daskflow.preview(target)
    before = capsys.readouterr().out
    assert "expands after Items(items=('a', 'b'))" in before and "Branch" not in before
    nodes = daskflow.draw(target).to_dict()["tasks"]
    assert [n["reasons"][0]["message"] for n in nodes if n["family"] == "Combine"] == \
        ["expands after Items(items=('a', 'b'))"]
    assert "expands after Items(items=(&#x27;a&#x27;, &#x27;b&#x27;))" in daskflow.draw(target).svg() or \
        "expands after Items(items=(&#39;a&#39;, &#39;b&#39;))" in daskflow.draw(target).svg()
    daskflow.run(Items(items=["a", "b"]), scheduler="sync")  # the list is known: expanded at plan time
    daskflow.preview(target)
    after = capsys.readouterr().out
    assert "Branch-{'item': 'a'} (PENDING: no output)" in after
    assert "expands after" not in after
    assert [t.task for t in daskflow.why(target).will_run] == [Branch(item="a"), Branch(item="b"), target]


def test_fresh_list_expands_at_plan_time_in_one_stage(root, monkeypatch):
    daskflow.run(Items(items=["a", "b"]), scheduler="sync")
    from daskflow import graph

    stages = []
    real = graph.execute_plan
    monkeypatch.setattr(graph, "execute_plan",
                        lambda plan, *a, **k: stages.append(len(plan.to_run())) or real(plan, *a, **k))
    daskflow.run(Combine(items=["a", "b"]), scheduler="sync")
    assert stages == [3]


def _count_listings(monkeypatch) -> list:
    calls = []
    for name in ("_find", "_scan"):  # a remote listing; a local one (one scandir per family)
        real = getattr(Store, name)

        def counted(self, path, prefix="", real=real):
            calls.append((path, prefix))
            return real(self, path, prefix)

        monkeypatch.setattr(Store, name, counted)
    return calls


def test_noop_dynamic_run_lists_no_more_than_a_static_graph(root, monkeypatch):
    items = [f"i{n}" for n in range(30)]
    daskflow.run([Combine(items=items), StaticCombine(items=items)], scheduler="sync")
    calls = _count_listings(monkeypatch)
    assert daskflow.run(StaticCombine(items=items), scheduler="sync").ran == []
    static = len(calls)
    calls.clear()
    assert daskflow.run(Combine(items=items), scheduler="sync").ran == []
    assert len(calls) <= static
    assert static == 3  # one per family: Items, Branch, the combiner


def test_forced_list_task_reruns_once_with_what_is_downstream(root):
    daskflow.run(Combine(items=["a", "b"]), scheduler="sync")
    CALLS.clear()
    daskflow.run(Combine(items=["a", "b"]), force=Items(items=["a", "b"]), scheduler="sync")
    assert CALLS == {"Items": 1, "Combine": 1}  # the branches do not depend on Items
    CALLS.clear()
    daskflow.run(Combine(items=["a", "b"]), forced_all_upstream=True, scheduler="sync")
    assert CALLS == {"Items": 1, "Branch a": 1, "Branch b": 1, "Combine": 1}
    CALLS.clear()
    daskflow.run(Combine(items=["a", "b"]), forced_all=True, scheduler="sync")
    assert CALLS == {"Combine": 1}


class Slice(daskflow.tasks.TaskJson):
    """A branch that reads the list task's output too."""

    item = daskflow.Parameter()
    items = daskflow.ListParameter()

    def requires(self):
        return Items(items=self.items)

    def run(self):
        CALLS[f"Slice {self.item}"] += 1
        self.save(self.inputLoad().index(self.item))


class Slices(daskflow.tasks.TaskJson):
    items = daskflow.ListParameter()

    def requires(self):
        return daskflow.map(Slice, over=Items(items=self.items), param="item", items=self.items)

    def run(self):
        CALLS["Slices"] += 1
        self.save(self.inputLoad())


def test_forcing_the_list_task_reruns_branches_found_downstream_of_it(root):
    target = Slices(items=["a", "b"])
    daskflow.run(target, scheduler="sync")
    CALLS.clear()
    result = daskflow.run(target, force=Items(items=["a", "b"]), scheduler="sync")
    assert CALLS == {"Items": 1, "Slice a": 1, "Slice b": 1, "Slices": 1}
    assert result.cutoff == []  # forced: no early cutoff, even with identical outputs


# -- nested expansion: a branch that itself fans out ------------------------------------------
class Parts(daskflow.tasks.TaskJson):
    group = daskflow.Parameter()
    size = daskflow.IntParameter(default=2)

    def run(self):
        CALLS[f"Parts {self.group}"] += 1
        self.save([f"{self.group}{i}" for i in range(self.size)])


class Group(daskflow.tasks.TaskJson):
    group = daskflow.Parameter()
    size = daskflow.IntParameter(default=2)

    def requires(self):
        return daskflow.map(Branch, over=Parts(group=self.group, size=self.size), param="item")

    def run(self):
        CALLS[f"Group {self.group}"] += 1
        self.save([x["item"] for x in self.inputLoad()])


class Nested(daskflow.tasks.TaskJson):
    groups = daskflow.ListParameter()

    def requires(self):
        return daskflow.map(Group, over=Items(items=self.groups), param="group")

    def run(self):
        CALLS["Nested"] += 1
        self.save(self.inputLoad())


def test_nested_expansion_runs_in_stages_and_rebuilds_only_what_changed(root):
    result = daskflow.run(Nested(groups=["x", "y"]), scheduler="sync")
    assert len(result.ran) == 1 + 2 + 2 + 4 + 1  # Items, 2 Parts, 2 Groups, 4 Branches, Nested
    assert Nested(groups=["x", "y"]).outputLoad() == [["x0", "x1"], ["y0", "y1"]]
    CALLS.clear()
    assert daskflow.run(Nested(groups=["x", "y"]), scheduler="sync").ran == []
    CALLS.clear()
    daskflow.run(Nested(groups=["x", "y", "z"]), scheduler="sync")
    assert CALLS == {"Items": 1, "Parts z": 1, "Branch z0": 1, "Branch z1": 1, "Group z": 1,
                     "Nested": 1}
    CALLS.clear()
    daskflow.run(Nested(groups=["x", "y", "z"]), forced_all_upstream=True, scheduler="sync")
    assert set(CALLS.values()) == {1} and len(CALLS) == 1 + 3 + 3 + 6 + 1  # each task once


# -- errors -------------------------------------------------------------------------------------
class Table(daskflow.tasks.TaskPqPandas):
    def run(self):
        self.save(pd.DataFrame({"item": ["a", "b"]}))


class OverTable(daskflow.tasks.TaskJson):
    def requires(self):
        return daskflow.map(Branch, over=Table(), param="item")


class Numbers(daskflow.tasks.TaskJson):
    def run(self):
        self.save([1, "two", 3])


class IntBranch(daskflow.tasks.TaskJson):
    n = daskflow.IntParameter()


class OverNumbers(daskflow.tasks.TaskJson):
    def requires(self):
        return daskflow.map(IntBranch, over=Numbers(), param="n")


class NoOutputs(daskflow.tasks.TaskAggregator):
    pass


class OverNothing(daskflow.tasks.TaskJson):
    def requires(self):
        return daskflow.map(Branch, over=NoOutputs(), param="item")


class ReadsItself(daskflow.tasks.TaskJson):
    def requires(self):
        return daskflow.map(Branch, over=Reader(), param="item")


class Reader(daskflow.tasks.TaskJson):
    def requires(self):
        return ReadsItself()


def test_expanding_over_something_not_a_list_names_the_task(root):
    daskflow.run(Table(), scheduler="sync")
    with pytest.raises(daskflow.TaskDefinitionError) as err:
        daskflow.preview(OverTable())
    text = str(err.value)
    assert "OverTable()" in text and "Table()" in text and "not a list of parameter values" in text
    assert Table().complete()  # nothing stored was lost


def test_a_bad_value_in_the_list_names_the_task_item_and_parameter(root):
    daskflow.run(Numbers(), scheduler="sync")
    with pytest.raises(daskflow.TaskDefinitionError) as err:
        daskflow.run(OverNumbers(), scheduler="sync")
    text = str(err.value)
    assert "OverNumbers()" in text and "item 1" in text and "'two'" in text and "IntBranch.n" in text


def test_map_misuse_is_a_clear_error(root):
    class WrongParam(daskflow.tasks.TaskJson):
        def requires(self):
            return daskflow.map(Branch, over=Items(items=[1]), param="fold")

    with pytest.raises(daskflow.TaskDefinitionError, match=r"Branch has no parameter 'fold'; it has: item"):
        daskflow.preview(WrongParam())
    with pytest.raises(daskflow.TaskDefinitionError, match="has no outputs to load"):
        daskflow.preview(OverNothing())
    with pytest.raises(daskflow.TaskDefinitionError, match="is for requires()"):
        daskflow.map(Branch, over=Items(items=[1]), param="item")


def test_input_of_outside_planning_reads_todays_build(root):
    target = Combine(items=[1])
    with pytest.raises(daskflow.TaskDefinitionError, match=r"Items\(items=\(1,\)\) is not built"):
        target.inputLoad()  # requires() is evaluated here, outside any plan
    daskflow.run(target, scheduler="sync")
    fresh = Combine(items=[1])  # a new instance: requires() is evaluated again
    assert fresh.input_of(Items(items=[1])).load() == [1]
    assert fresh.inputLoad() == [{"item": 1, "score": 1}]


class AllBranches(daskflow.tasks.TaskAggregator):
    def requires(self):
        return daskflow.map(Branch, over=Items(items=["p", "q"]), param="item")


def test_a_dynamic_aggregator_runs_and_loads(root):
    result = daskflow.run(AllBranches(), scheduler="sync")
    assert set(result.ran) == {Items(items=["p", "q"]), Branch(item="p"), Branch(item="q"), AllBranches()}
    assert AllBranches().outputLoad() == [{"item": "p", "score": 1}, {"item": "q", "score": 1}]


def test_an_expansion_cycle_is_a_cycle_error(root):
    with pytest.raises(daskflow.TaskDefinitionError) as err:
        daskflow.preview(ReadsItself())
    assert "forms a cycle through input_of(): ReadsItself() reads Reader() -> ReadsItself() reads Reader()" in str(err.value)


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_local_schedulers_run_the_stages(root, scheduler):
    first = daskflow.run(Combine(items=["a", "b"]), scheduler=scheduler)
    assert len(first.ran) == 4
    grown = daskflow.run(Combine(items=["a", "b", "c"]), scheduler=scheduler)
    assert [t for t in grown.ran if isinstance(t, Branch)] == [Branch(item="c")]
    assert daskflow.run(Combine(items=["a", "b", "c"]), scheduler=scheduler).ran == []


def test_a_single_plan_graph_refuses_a_task_not_expanded_yet(root):
    from daskflow.graph import build_graph
    from daskflow.plan import Plan

    with pytest.raises(daskflow.TaskDefinitionError, match=r"Combine\(items=\('a',\)\) cannot be built before expanding"):
        build_graph(Plan(Combine(items=["a"])))


class StaticGroup(daskflow.tasks.TaskJson):
    group = daskflow.Parameter()

    def requires(self):
        return [Branch(item=f"{self.group}{i}") for i in range(2)] + [Parts(group=self.group)]

    def run(self):
        self.save(0)


class StaticNested(daskflow.tasks.TaskJson):
    groups = daskflow.ListParameter()

    def requires(self):
        return [StaticGroup(group=g) for g in self.groups] + [Items(items=self.groups)]

    def run(self):
        self.save(0)


def test_noop_nested_expansion_lists_no_more_than_a_static_graph(root, monkeypatch):
    groups = [f"g{i}" for i in range(12)]
    daskflow.run([Nested(groups=groups), StaticNested(groups=groups)], scheduler="sync")
    calls = _count_listings(monkeypatch)
    assert daskflow.run(StaticNested(groups=groups), scheduler="sync").ran == []
    static = len(calls)
    calls.clear()
    assert daskflow.run(Nested(groups=groups), scheduler="sync").ran == []
    assert len(calls) <= static == 5  # Items, Parts, Branch, the group and the top families


def test_workflow_and_invalidation_see_the_branches(root):
    flow = daskflow.Workflow(Combine, {"items": ["a", "b"]})
    assert len(flow.run(scheduler="sync").ran) == 4
    assert flow.outputLoad() == ["a", "b"]
    assert set(flow.outputLoadAll()) == {"Items", "Branch", "Combine"}
    daskflow.invalidate_upstream(Combine(items=["a", "b"]))  # the expansion is known: branches too
    CALLS.clear()
    daskflow.run(Combine(items=["a", "b"]), scheduler="sync")
    assert CALLS == {"Items": 1, "Branch a": 1, "Branch b": 1, "Combine": 1}


def test_a_stage_that_builds_nothing_usable_stops_with_an_error(root, monkeypatch):
    from daskflow import graph
    from daskflow.execute import Outcome

    # an error path: the list task "ran" but nothing was committed (a store that lost it)
    monkeypatch.setattr(graph, "execute_plan", lambda plan, *a, **k: {n.key: Outcome(n.key, "ran") for n in plan.to_run()})
    with pytest.raises(daskflow.TaskDefinitionError, match=r"cannot expand Combine\(items=\('a',\)\)"):
        daskflow.run(Combine(items=["a"]), scheduler="sync")


class CachedList(daskflow.tasks.TaskCache):
    def run(self):
        self.save(["a", "b"])


class FromCachedList(daskflow.tasks.TaskAggregator):
    def requires(self):
        return daskflow.map(Branch, over=CachedList(), param="item")


def test_a_cache_task_cannot_be_expanded_over_and_says_so(root):
    with pytest.raises(daskflow.TaskDefinitionError) as err:
        daskflow.run(FromCachedList(), scheduler="sync")
    assert "FromCachedList() reads CachedList()" in str(err.value) and "TaskCache" in str(err.value)
