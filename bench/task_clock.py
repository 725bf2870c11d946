"""`manage.py qcluster` with a record of when each task really ran, for bench/freshness.py.

django-q2's task rows date a task from its enqueue (`Task.started` is set by `async_task`), so
their `stopped − started` counts the time it waited in the queue too. This runs the cluster with
two receivers connected before its workers fork: `pre_execute` (just before the task runs) and
`post_execute_in_worker` (just after), each worker appending one JSON line per task to the file
named by BENCH_TASK_LOG: [task id, func, cluster, ran from, ran until, CPU seconds] (epoch
seconds; the worker process's CPU time during the task), once when the task starts (ran until
and CPU: null) and once when it ends.

    BENCH_TASK_LOG=/tmp/tasks.jsonl python -m bench.task_clock
"""

from __future__ import annotations

import json
import os
import sys
import time


def run() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evosync.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import execute_from_command_line
    from django_q.signals import post_execute_in_worker, pre_execute

    path = os.environ["BENCH_TASK_LOG"]
    cluster = os.environ.get("Q_CLUSTER_NAME") or settings.Q_CLUSTER["name"]
    began: dict[str, tuple[float, float]] = {}

    def write(line: list) -> None:
        # One short write in append mode: lines from several workers do not interleave.
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    def before(sender, func=None, task=None, **kwargs):
        began[task["id"]] = (time.time(), time.process_time())
        # A task still running when the benchmark reads the file counts until then.
        write([task["id"], task.get("func"), cluster, began[task["id"]][0], None, None])

    def after(sender, func=None, task=None, **kwargs):
        ran_from, cpu_from = began.pop(task["id"], (None, None))
        cpu = None if cpu_from is None else round(time.process_time() - cpu_from, 4)
        write([task["id"], task.get("func"), cluster, ran_from, time.time(), cpu])

    pre_execute.connect(before, weak=False)
    post_execute_in_worker.connect(after, weak=False)
    execute_from_command_line([sys.argv[0], "qcluster"])


if __name__ == "__main__":
    run()
