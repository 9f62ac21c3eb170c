"""luigi's names for a task's identity, parameters and parents, which d6tflow code uses.

Imports ``errors``.  ``daskflow.Task`` takes these from :class:`LuigiNames`:
``task_id`` (luigi's format: family, the first parameter values, an md5 of all
of them; d6tflow code logs it and names files with it), ``to_str_params``,
``from_str_params``,
``get_params``, ``get_param_names``, ``get_task_family``, ``task_module``,
d6tflow's ``metadata`` and, on a class decorated with ``@inherits`` or
``@requires``, luigi's ``clone_parent`` / ``clone_parents`` and d6tflow's
``clone_parents_dict``.  A task's identity in daskflow stays its canonical
parameter bytes; ``task_id`` is a name for people and old code.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import sys
import time

from .errors import NotBuiltError, TaskDefinitionError

__all__ = ["LuigiNames", "TASK_ID", "EVENTS", "config_defaults", "run_hooked"]

#: luigi's TASK_ID_INCLUDE_PARAMS and TASK_ID_TRUNCATE_PARAMS, as d6tflow sets them on import
#: (``settings.set_parameter_len(20, 64)``; luigi's own are 3 and 16); the hash is cut to 10 characters.
TASK_ID = {"include_params": 20, "truncate_params": 64}
_INVALID = re.compile(r"[^A-Za-z0-9_]")
_CALLBACKS: dict = {}  # task class -> {event: [handler]}: luigi's Task.event_handler
#: luigi.Event's names, so that no luigi import is needed to trigger them
EVENTS = {"start": "event.core.start", "success": "event.core.success", "failure": "event.core.failure",
          "processing_time": "event.core.processing_time"}
logger = logging.getLogger("daskflow")


class LuigiNames:
    """luigi's and d6tflow's task names (see the module docstring)."""

    __slots__ = ()

    @classmethod
    def get_task_family(cls) -> str:
        return cls._family

    @property
    def task_module(self) -> str:
        return type(self).__module__

    @classmethod
    def get_params(cls) -> list:
        """``[(name, parameter), ...]`` in luigi's order: as they were made, the parameters
        a ``requires``/``inherits`` decorator set first (as positional arguments bind)."""
        if "_settled" not in cls.__dict__:  # parameters set on the class after it (luigi.util)
            cls._settle()
        defs = cls._param_defs
        return [(n, defs[n]) for n in cls._luigi_order]

    @classmethod
    def get_param_names(cls, include_significant: bool = False) -> list:
        return [n for n, p in cls.get_params() if include_significant or p.significant]

    @classmethod
    def from_str_params(cls, params_str: dict):
        """The task of ``{name: text}`` values (luigi's; what ``to_str_params`` gives back)."""
        defs = dict(cls.get_params())  # settled: luigi.util.inherits sets parameters after the class
        unknown = sorted(set(params_str) - set(defs))
        if unknown:
            raise TaskDefinitionError(f"{cls.__name__} has no parameter(s) {', '.join(unknown)}; "
                                      f"valid parameters: {', '.join(defs) or 'none'}")
        return cls(**{n: defs[n].parse(v) if isinstance(v, str) else v for n, v in params_str.items()})

    def to_str_params(self, only_significant: bool = False, only_public: bool = False) -> dict:
        """``{name: text}`` of the parameter values, as each parameter writes them."""
        return {n: p.serialize(self._params[n]) for n, p in type(self).get_params()
                if p.significant or not only_significant}

    # -- luigi's hooks and worker calls, made by daskflow's executor --------------------------
    def on_success(self):
        """Called after ``run()`` and the commit succeeded (luigi's hook)."""

    def on_failure(self, exception):
        """Called when ``run()`` raised (luigi's hook); what it returns is logged."""

    def set_status_message(self, message) -> None:
        """luigi's worker call: logged on the ``daskflow`` logger, kept as ``status_message``."""
        self.__dict__["status_message"] = message
        logger.info("%r: %s", self, message)

    def set_progress_percentage(self, percentage) -> None:
        """luigi's worker call: logged, kept as ``progress_percentage``."""
        self.__dict__["progress_percentage"] = percentage
        logger.info("%r: %s%% done", self, percentage)

    @classmethod
    def event_handler(cls, event):
        """luigi's decorator: ``@Task.event_handler(luigi.Event.SUCCESS)`` calls the function
        with the task (and the exception, for FAILURE) for every task of this class."""
        def register(callback):
            _CALLBACKS.setdefault(cls, {}).setdefault(event, []).append(callback)
            return callback
        return register

    def trigger_event(self, event, *args) -> None:
        """Call the handlers of ``event`` registered on this task's classes (luigi's); a
        handler that raises is logged, as luigi logs it, and the build stands."""
        registries = list(_CALLBACKS.items())
        luigi = sys.modules.get("luigi")
        if luigi is not None:  # @luigi.Task.event_handler(...): every luigi task, d6tflow's too
            registries.append((object, getattr(luigi.Task, "_event_callbacks", {}).get(luigi.Task, {})))
        for klass, handlers in registries:
            if isinstance(self, klass):
                for callback in handlers.get(event, ()):
                    try:
                        callback(*args)
                    except Exception:
                        logger.exception("%r: the %s handler %r raised", self, event, callback)

    @property
    def task_id(self) -> str:
        """luigi's task id: ``{family}_{first values}_{md5 of all}`` (e.g. ``Train_5_svm_0a1b2c3d4e``)."""
        params = self.to_str_params(only_significant=True)
        digest = hashlib.md5(json.dumps(params, separators=(",", ":"), sort_keys=True).encode(),
                             usedforsecurity=False).hexdigest()
        shown = "_".join(params[n][:TASK_ID["truncate_params"]] for n in sorted(params)[:TASK_ID["include_params"]])
        return f"{type(self).__name__}_{_INVALID.sub('_', shown)}_{digest[:10]}"

    @property
    def metadata(self):
        """d6tflow's: what ``metaSave()`` stored for this task's current build, else None."""
        try:
            return self.outputLoadMeta()
        except NotBuiltError:
            return None

    def clone_parent(self, **kwargs):
        """luigi's: the first class of ``@inherits``/``@requires``, with this task's parameters."""
        return self.clone(next(iter(self._parents().values())), **kwargs)

    def clone_parents(self, **kwargs) -> list:
        """luigi's: every class of ``@inherits``/``@requires``, with this task's parameters."""
        return [self.clone(p, **kwargs) for p in self._parents().values()]

    def clone_parents_dict(self, **kwargs) -> dict:
        """d6tflow's, for ``@inherits({"a": A, "b": B})``: ``{"a": A(...), "b": B(...)}``."""
        return {k: self.clone(p, **kwargs) for k, p in self._parents().items()}

    def _parents(self) -> dict:
        parents = getattr(type(self), "_inherited", None)  # set by @inherits/@requires (on a base too)
        if not parents:
            raise TaskDefinitionError(f"{type(self).__name__} has no parents: clone_parent() needs the class "
                                      f"decorated with @daskflow.inherits(...) or @daskflow.requires(...)")
        return parents


def config_defaults(cls, params: dict) -> dict:
    """``params`` with the defaults luigi's configuration gives ``cls`` (a ``[Family]``
    section of ``luigi.cfg``: ``n = 7``), as luigi reads them; only where luigi is imported."""
    luigi = sys.modules.get("luigi") or _luigi_for_config()
    if luigi is None or not params:
        return params
    try:
        config = luigi.configuration.get_config()
        if not config.has_section(cls._family):
            return params
    except Exception:  # luigi's configuration unreadable: luigi would say so itself
        return params
    out = dict(params)
    for name, param in params.items():
        key = next((k for k in (name, name.replace("_", "-")) if config.has_option(cls._family, k)), None)
        if key is not None:  # this class's default only: a subclass has a section of its own
            param = out[name] = copy.copy(param)
            param.default = param.parse(config.get(cls._family, key))
    return out


_CONFIG: list = []  # [luigi or None]: whether a luigi configuration file is here, decided once


def _luigi_for_config():
    """luigi, imported here when a configuration file is present (``luigi.cfg`` in the current
    folder, or ``LUIGI_CONFIG_PATH``) though the project does not import it: d6tflow always does."""
    if not _CONFIG:
        found = None
        if os.environ.get("LUIGI_CONFIG_PATH") or os.path.exists("luigi.cfg"):
            try:
                import luigi as found
            except ImportError:
                found = None
        _CONFIG.append(found)
    return _CONFIG[0]


def run_hooked(runner, run, commit):
    """``run()``, then ``commit()``, with luigi's hooks around them: START, then ``on_success``
    and SUCCESS (and PROCESSING_TIME), or ``on_failure`` and FAILURE before the error goes
    on.  ``on_success`` comes after the commit, so one that raises is logged and the build
    stands; so is an event handler that raises."""
    start = time.perf_counter()
    runner.trigger_event(EVENTS["start"], runner)
    try:
        run()
        result = commit()
    except Exception as exc:
        said = runner.on_failure(exc)
        if said:
            logger.info("%r: on_failure: %s", runner, said)
        runner.trigger_event(EVENTS["failure"], runner, exc)
        raise
    try:
        runner.on_success()
    except Exception:  # the build is committed: it stands, and the hook's error is said
        logger.exception("%r: on_success() raised after its build was committed", runner)
    runner.trigger_event(EVENTS["success"], runner)
    runner.trigger_event(EVENTS["processing_time"], runner, time.perf_counter() - start)
    return result
