"""bench.cpuload: the busy loops benchmarks and the rate-limit tests run in the background."""

import pytest

from bench.cpuload import cpu_load


def test_busy_loops_run_inside_the_block_and_are_gone_after_it():
    with cpu_load(2, max_seconds=30) as loops:
        assert len(loops) == 2
        assert all(loop.poll() is None for loop in loops)  # still running
    assert all(loop.poll() is not None for loop in loops)


@pytest.mark.parametrize(
    ("processes", "max_seconds", "message"),
    [(-1, 10, "cannot be negative"), (1, 0, "must be positive")],
)
def test_bad_arguments_are_refused_clearly(processes, max_seconds, message):
    with pytest.raises(ValueError, match=message), cpu_load(processes, max_seconds=max_seconds):
        pass
