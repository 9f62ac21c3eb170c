"""luigi's other parameter kinds, which d6tflow re-exports: ``d6tflow.TupleParameter``...

Imports ``params`` and ``taskdef``.  Each is a daskflow parameter (checked and
normalised when a task is made, part of its identity by value), and a
``luigi.XParameter`` declaration of one of these kinds in a task class becomes
it, as the basic kinds do:

- ``TupleParameter`` (a ``ListParameter`` by another name: values are tuples);
- ``OptionalParameter`` (any value or None; default None), ``NumericalParameter``
  (``var_type``, ``min_value``, ``max_value``, luigi's ``left_op``/``right_op``);
- ``MonthParameter``, ``YearParameter`` (a date, cut to the month or year;
  ``"2024-03"``, ``"2024"``), ``DateHourParameter``, ``DateMinuteParameter``,
  ``DateSecondParameter`` (a datetime cut to the hour, minute or second; luigi's
  texts ``2024-03-01T13``, ``...T1330``, ``...T133005``), ``TimeDeltaParameter``;
- ``TaskParameter``: a task class, by its name.

luigi's ``DateIntervalParameter`` is not provided (declare two DateParameters).
"""

from __future__ import annotations

import datetime
import operator

from .. import taskdef
from ..params import DateParameter, ListParameter, Parameter

__all__ = ["TupleParameter", "OptionalParameter", "NumericalParameter", "MonthParameter", "YearParameter",
           "DateHourParameter", "DateMinuteParameter", "DateSecondParameter", "TimeDeltaParameter",
           "TaskParameter"]


class TupleParameter(ListParameter):
    """A tuple (a list is made one); JSON on the command line."""

    type_name = "tuple"


class OptionalParameter(Parameter):
    """Any value, or None (the default)."""

    type_name = "optional"

    def __init__(self, default=None, **kwargs):
        super().__init__(default=default, **kwargs)

    def check(self, value, task_name: str):
        return None if value is None else super().check(value, task_name)


class NumericalParameter(Parameter):
    """A number of ``var_type`` between ``min_value`` and ``max_value`` (luigi's: by default
    ``min_value <= x < max_value``)."""

    type_name = "number"

    def __init__(self, var_type=float, min_value=None, max_value=None, left_op=operator.le,
                 right_op=operator.lt, **kwargs):
        self.var_type, self.min_value, self.max_value = var_type, min_value, max_value
        self.left_op, self.right_op = left_op, right_op
        super().__init__(**kwargs)

    def normalize(self, value):
        value = self.var_type(value.strip() if isinstance(value, str) else value)
        if (self.min_value is not None and not self.left_op(self.min_value, value)) or (
                self.max_value is not None and not self.right_op(value, self.max_value)):
            raise ValueError(f"{value} is outside [{self.min_value}, {self.max_value})")
        return value


class MonthParameter(DateParameter):
    """The first day of a month; ``"2024-03"`` is accepted."""

    type_name = "month"
    _CUT = {"day": 1}

    def normalize(self, value):
        if isinstance(value, str):  # "2024" and "2024-03" as the first day they name
            value = value.strip() + "-01" * ((10 - len(value.strip())) // 3)
        return super().normalize(value).replace(**self._CUT)

    def unchanged_types(self) -> tuple:
        return ()


class YearParameter(MonthParameter):
    """The first day of a year; ``"2024"`` is accepted."""

    type_name = "year"
    _CUT = {"month": 1, "day": 1}


class DateHourParameter(Parameter):
    """A ``datetime`` cut to the hour; luigi's text ``2024-03-01T13`` is accepted."""

    type_name = "datehour"
    _FORMAT, _CUT = "%Y-%m-%dT%H", {"minute": 0, "second": 0, "microsecond": 0}

    def normalize(self, value):
        if isinstance(value, str):
            try:
                value = datetime.datetime.strptime(value.strip(), self._FORMAT)
            except ValueError:
                value = datetime.datetime.fromisoformat(value.strip())
        if not isinstance(value, datetime.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        return value.replace(**self._CUT)

    def _text(self, value) -> str:
        return value.strftime(self._FORMAT)


class DateMinuteParameter(DateHourParameter):
    type_name = "dateminute"
    _FORMAT, _CUT = "%Y-%m-%dT%H%M", {"second": 0, "microsecond": 0}


class DateSecondParameter(DateHourParameter):
    type_name = "datesecond"
    _FORMAT, _CUT = "%Y-%m-%dT%H%M%S", {"microsecond": 0}


class TimeDeltaParameter(Parameter):
    """A ``datetime.timedelta``; a number is seconds, text is read by ``pandas.Timedelta``."""

    type_name = "timedelta"

    def normalize(self, value):
        if isinstance(value, datetime.timedelta):
            return datetime.timedelta(value.days, value.seconds, value.microseconds)  # pd.Timedelta too
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.timedelta(seconds=value)
        if isinstance(value, str):
            import pandas as pd

            return pd.Timedelta(value.strip()).to_pytimedelta()
        raise TypeError(f"expected a timedelta, got {type(value).__name__}")


class TaskParameter(Parameter):
    """A task class (``model = TaskParameter(default=TrainOLS)``), part of the identity by name."""

    type_name = "task"

    def normalize(self, value):
        if not (isinstance(value, type) and hasattr(value, "_param_defs")):
            raise TypeError(f"expected a task class, got {value!r}")
        return value

    def _text(self, value) -> str:
        return value.__name__


taskdef.LUIGI_KINDS.update({cls.__name__: cls for cls in (
    TupleParameter, OptionalParameter, NumericalParameter, MonthParameter, YearParameter, DateHourParameter,
    DateMinuteParameter, DateSecondParameter, TimeDeltaParameter, TaskParameter)})
