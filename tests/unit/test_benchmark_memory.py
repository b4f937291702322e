"""The benchmarks' one peak-memory helper counts what a stage really holds, children included."""

import subprocess
import sys

from python_models.benchmarks.memory import PeakMemory

HOLD_200_MB = "import time; block = bytearray(200 * 2**20); time.sleep(1.0)"


def test_peak_memory_of_a_child_process_includes_what_it_allocated() -> None:
    process = subprocess.Popen([sys.executable, "-c", HOLD_200_MB])
    with PeakMemory(pid=process.pid, interval=0.05) as memory:
        process.wait()
    assert memory.peak_mb >= 200


def test_peak_memory_of_this_process_sees_children_unless_told_not_to() -> None:
    with PeakMemory() as with_children:
        subprocess.run([sys.executable, "-c", HOLD_200_MB], check=True)
    with PeakMemory(include_children=False) as alone:
        subprocess.run([sys.executable, "-c", HOLD_200_MB], check=True)
    assert with_children.peak_mb - alone.peak_mb >= 150
