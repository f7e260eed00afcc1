"""The Monitor's CPU reading: a real busy process, read by a fresh meter, shows on the first reading."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from core.monitor.system_load import MIN_SPAN_S, CpuMeter, system_load


@pytest.fixture
def busy_core():
    """One core kept busy by a real process for the length of the test."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)  # the interpreter's start is not the busy loop
    yield
    proc.kill()
    proc.wait()


def test_first_reading_of_a_fresh_meter_shows_a_busy_core(busy_core):
    # psutil.cpu_percent(interval=None) answers 0.0 here: it has nothing to compare with yet.
    pct = CpuMeter().read_pct()
    assert pct >= 50 / (os.cpu_count() or 1), pct


def test_readings_closer_than_the_min_span_repeat_the_last(busy_core):
    meter = CpuMeter()
    first = meter.read_pct()
    assert meter.read_pct() == first
    time.sleep(MIN_SPAN_S + 0.1)
    later = meter.read_pct()
    assert later >= 50 / (os.cpu_count() or 1)
    assert 0 <= later <= 100


def test_system_load_reads_the_machine(tmp_path):
    load = system_load(tmp_path)
    assert 0 <= load.cpu_pct <= 100
    assert 0 < load.ram_used_bytes < load.ram_total_bytes
    assert load.disk_free_bytes and load.disk_total_bytes and load.disk_free_bytes <= load.disk_total_bytes
