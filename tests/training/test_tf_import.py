"""TensorFlow's first import, from several threads at once, leaves stderr
working (it is redirected during the import to filter TensorFlow's noise)."""

import subprocess
import sys
import textwrap


def test_first_imports_from_two_threads_keep_stderr():
    code = textwrap.dedent("""
        import os, sys, threading
        from mtl_studio.training import tf_import
        threads = [threading.Thread(target=tf_import.keras) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sys.stderr.write("python stderr works\\n")
        sys.stderr.flush()
        os.write(2, b"fd 2 works\\n")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "python stderr works" in done.stderr and "fd 2 works" in done.stderr
    assert "cpu_feature_guard" not in done.stderr  # the noise stays filtered
