"""d6tflow's public names that are not part of daskflow's own model: ``settings``,
``targets`` and ``functional``, so ``import daskflow as d6tflow`` runs d6tflow projects.

Imports ``config``, ``formats``, ``storage``, ``context``, ``task``, ``tasks``,
``inherit``, ``outputs``, ``graph`` and ``workflow``; nothing imports it but
``daskflow/__init__``.  Where daskflow deliberately differs from d6tflow, the
README's "d6tflow vs daskflow" table says so.
"""
