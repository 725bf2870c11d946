"""bench.publish_cluster: how `python -m bench publish --via-cluster` finds and measures the
worker's processes, and the options it refuses."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import publish
from bench.publish_cluster import _group_pids, _memory_kb, cluster_env


def test_the_processes_of_a_group_are_found_until_they_are_killed():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        assert _group_pids(child.pid) == [child.pid]
        rss, peak = _memory_kb(child.pid)
        assert 0 < rss <= peak
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    for _ in range(50):  # gone once reaped (a zombie is not counted either)
        if not _group_pids(child.pid):
            break
        time.sleep(0.1)
    assert _group_pids(child.pid) == []
    assert _memory_kb(child.pid) == (0, 0)


def test_the_worker_runs_with_debug_off_on_the_benchmarks_key_in_the_slow_lane(tmp_path: Path):
    env = cluster_env({"SECRET_KEY": "k" * 50, "DEBUG": "true"}, tmp_path)
    assert env["DEBUG"] == "false"
    assert env["SECRET_KEY"] == "k" * 50  # django-q2 signs tasks with it: the same both sides
    assert env["Q_CLUSTER_NAME"] == "evosync-slow"


def test_killing_the_cluster_needs_the_cluster():
    with pytest.raises(SystemExit) as exit_:
        publish.main(["--kill-after-chunk", "2"])
    assert exit_.value.code == 2
