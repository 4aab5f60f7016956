"""Training in the window runs below the window's priority (Linux), so a
paint or a click gets a core at once (no TensorFlow needed here)."""

import os
import sys
import threading

import pytest

from mtl_studio.ui.run_worker import TRAINING_NICE, lower_training_priority

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="thread priorities are Linux's"
)


def run_in_thread(target, name: str | None = None):
    """Start a thread (named `name` for the OS, as TensorFlow names its
    pools) that runs target() and then waits to be released; returns
    (thread id, release event, result)."""
    ready, release, result = threading.Event(), threading.Event(), {}

    def body():
        if name:
            with open("/proc/thread-self/comm", "w", encoding="utf-8") as fh:
                fh.write(name)
        result["tid"] = threading.get_native_id()
        if target is not None:
            target()
        result["nice"] = os.getpriority(os.PRIO_PROCESS, result["tid"])
        ready.set()
        release.wait(5)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    ready.wait(5)
    return result, release, thread


def test_the_training_thread_and_tensorflows_pools_go_below_the_window():
    pool, release_pool, pool_thread = run_in_thread(None, name="tf_test_pool")
    other, release_other, other_thread = run_in_thread(None, name="not_tf")
    main_before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker, release_worker, worker_thread = run_in_thread(lower_training_priority)
    try:
        assert worker["nice"] == TRAINING_NICE > main_before
        assert os.getpriority(os.PRIO_PROCESS, pool["tid"]) == TRAINING_NICE
        assert os.getpriority(os.PRIO_PROCESS, other["tid"]) == main_before
        # The GUI thread (this one) keeps its priority.
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_before

        # A thread the training thread starts inherits its priority.
        started = {}

        def start_child():
            child, release_child, child_thread = run_in_thread(None)
            started.update(child)
            release_child.set()
            child_thread.join(5)

        grand, release_grand, grand_thread = run_in_thread(
            lambda: (lower_training_priority(), start_child())
        )
        assert started["nice"] == TRAINING_NICE
        release_grand.set()
        grand_thread.join(5)
    finally:
        for release, thread in [
            (release_pool, pool_thread),
            (release_other, other_thread),
            (release_worker, worker_thread),
        ]:
            release.set()
            thread.join(5)
