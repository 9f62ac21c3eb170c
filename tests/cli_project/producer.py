"""The data engineer's side: the class that writes what ``flow.Vendor`` (external) reads."""

import daskflow


class Vendor(daskflow.tasks.TaskJson):
    def run(self):
        self.save({"rows": 3})
