"""Parameter inheritance: ``@requires`` and ``@inherits``, as in luigi and d6tflow.

Imports ``errors``, ``params`` and ``task``.  Both decorators copy the
parameters of the upstream classes onto the decorated class (the class itself
is changed in place, so it keeps its name, module and pickling), then recheck
it.  A parameter the decorated class declares itself wins; two parents that
declare one parameter differently (type, default or significance) are an
error at class definition, never a silent choice.
"""

from __future__ import annotations

from .errors import TaskDefinitionError
from .task import Task

__all__ = ["inherits", "requires"]


def _parents(args) -> dict:
    if len(args) == 1 and isinstance(args[0], dict):
        parents = dict(args[0])
    else:
        parents = {i: cls for i, cls in enumerate(args)}
    if not parents:
        raise TaskDefinitionError("@requires/@inherits needs at least one task class")
    for cls in parents.values():
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise TaskDefinitionError(f"@requires/@inherits takes task classes, got {cls!r}")
    return parents


def _inherit(cls: type[Task], parents: dict) -> type[Task]:
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TaskDefinitionError(f"@requires/@inherits decorates task classes, not {cls!r}")
    own = set(cls._param_defs)  # declared on the class or its bases: it wins
    chosen: dict = {}
    for parent in parents.values():
        for name, param in parent._param_defs.items():
            if name in own:
                continue
            if name in chosen:
                first_parent, first = chosen[name]
                if not first.same_declaration(param):
                    raise TaskDefinitionError(
                        f"{cls.__name__}: parameter {name!r} is declared differently by "
                        f"{first_parent.__name__} ({first!r}, significant={first.significant}) and "
                        f"{parent.__name__} ({param!r}, significant={param.significant}); "
                        f"declare {name!r} on {cls.__name__} to choose")
                continue
            chosen[name] = (parent, param)
    for name, (_, param) in chosen.items():
        setattr(cls, name, param)
    cls._inherited = parents  # clone_parent(), clone_parents(), clone_parents_dict() (luigi_names)
    cls._collect(by_creation=True)
    return cls


def inherits(*tasks_to_inherit):
    """Copy the parameters of the given task classes onto the decorated class.

    Use ``self.clone(Parent)`` in ``requires()`` to build the parent.

    Examples
    --------
    >>> import daskflow
    >>> class A(daskflow.tasks.TaskPickle):
    ...     n = daskflow.IntParameter(default=1)
    >>> @daskflow.inherits(A)
    ... class B(daskflow.tasks.TaskPickle):
    ...     def requires(self):
    ...         return self.clone(A)
    >>> B(n=2).requires()
    A(n=2)
    """
    parents = _parents(tasks_to_inherit)
    return lambda cls: _inherit(cls, parents)


def requires(*tasks_to_require):
    """Inherit the parameters of the given task classes and require them.

    ``@requires(A)`` makes ``requires()`` return ``self.clone(A)``;
    ``@requires(A, B)`` a list; ``@requires({"a": A, "b": B})`` a dict.
    """
    parents = _parents(tasks_to_require)
    as_dict = len(tasks_to_require) == 1 and isinstance(tasks_to_require[0], dict)

    def decorate(cls):
        cls = _inherit(cls, parents)

        def requires(self):
            if as_dict:
                return {k: self.clone(p) for k, p in parents.items()}
            if len(parents) == 1:
                return self.clone(parents[0])
            return [self.clone(p) for p in parents.values()]

        requires.__qualname__ = f"{cls.__qualname__}.requires"
        cls.requires = requires
        return cls

    return decorate
