"""The overhead benchmark's daskflow tasks: one class per output format.

A module (not ``__main__``) so LocalCluster workers import it by reference,
as they would a user's project.  ``shape`` names the graph (see
``_common.deps_of``), ``i`` the node.
"""

import daskflow
from _common import deps_of, make_frame, make_pickle


class PickleNode(daskflow.tasks.TaskPickle):
    shape = daskflow.Parameter()
    i = daskflow.IntParameter()

    def requires(self):
        return [PickleNode(shape=self.shape, i=j) for j in deps_of(self.shape, self.i)]

    def run(self):
        self.save(make_pickle(self.i, [t.load() for t in self.input()]))


class ParquetNode(daskflow.tasks.TaskPqPandas):
    shape = daskflow.Parameter()
    i = daskflow.IntParameter()

    def requires(self):
        return [ParquetNode(shape=self.shape, i=j) for j in deps_of(self.shape, self.i)]

    def run(self):
        self.save(make_frame(self.i, [t.load() for t in self.input()]))


CLASSES = {"pickle": PickleNode, "parquet": ParquetNode}
