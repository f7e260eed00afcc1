"""What watching costs: the dashboard's CPU while tabs watch a live run, the run's speed, cold and warm page opens.

    .venv/bin/python benchmarks/bench_live.py [rounds]

A workspace with a finished demo run (made once under benchmarks/.cache/), the dashboard started as
`make run` starts it, a live demo run started beside it, Debian's Chromium under Playwright:
- windows of WINDOW_EPOCHS whole training epochs (each holds the same steps and evaluations; the run
  saves no checkpoints, so each window holds the same work): no tab, then ROUNDS rounds of the five
  pages as five tabs of one browser window (Monitor in front, the other four behind it), in the last
  round also the five tabs all visible at once (five windows side by side: reported, not a target),
  then the four others closed (one Monitor tab), and no tab again (every other round opens the Monitor tab
  alone first, then the four others: each state is as often first as second in its round); SETTLE_S after
  tabs open or close. In each:
  the CPU seconds of the Streamlit process and its children (the offload workers: the training run is not one
  of them), the browser's CPU, the run's steps per second between two of its own status writes, and the time
  the training's threads were ready to run but waited for a core (the kernel's schedstat: what the dashboard
  and the browser take from the training, without the hypervisor's steal and the machine's own drift, which
  move the wall-clock speed by more than that here). A watched window's speed is taken against the
  no-tab windows on either side of its round (the machine's own speed drifts by several per cent over
  minutes), and the figures are medians over the rounds;
- a fresh browser session opening Monitor, timed to its first drawn loss curve, against TensorBoard
  serving the same run folder to a fresh session of the same browser, timed to its first chart;
- warm page switches in one session, to the page's heading with no spinner left.
Headless Chromium reports every page as visible; tabs behind the front one are emulated through the
Page Visibility API (dashboard_harness.emulate_tabs), which is what the dashboard's refresh reads.
Targets (issue 15): dashboard_cpu_pct <= 5, five_tabs_cpu_pct <= 15, training_speed_ratio >= 0.98,
cold_ratio <= 1.0, warm_switch_s < 1. The last line is machine-readable.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dashboard_harness import (chromium, dashboard, delete_live_run, demo_workspace, emulate_tabs, open_page,
                               pick_run, show_only, start_live_run, stop_run, tensorboard, wait_for_page)

WARM_UP_STEPS = 500  # steps the live run makes before the first window
WINDOW_EPOCHS = 1  # demo epochs per measured window (60 steps, 12-25 s here)
ROUNDS = 8  # rounds of windows: the speed ratio is their median; `bench_live.py 2` for a quick look
SETTLE_S = 10  # after tabs were opened or closed: a page's first load (its scripts, its first runs) is not watching
REFRESH_PASSES = 3  # chart refresh measurements per run length
FIVE_TABS = ("Train", "Monitor", "Disk", "Checkpoints", "Dataset")
URL_PATHS = {"Train": "", "Monitor": "monitor", "Disk": "disk", "Checkpoints": "checkpoints", "Dataset": "dataset",
             "Runs": "runs"}
CHART = "[data-testid='stImage'] img[src^='data:image/svg+xml']"  # the Monitor's first loss curve
TB_CHART = "line-chart canvas, line-chart svg, .line-chart canvas, vz-line-chart2 svg"


def server_cpu_s(pid: int, training_pids: set[int]) -> float:
    """CPU seconds of the Streamlit process and its children, the training run's processes left out."""
    import psutil

    total = 0.0
    server = psutil.Process(pid)
    for proc in (server, *server.children(recursive=True)):
        if proc.pid in training_pids:
            continue
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def training_pids(root: Path, run_id: str) -> set[int]:
    import psutil

    from core.registry.records import load_record
    from core.base.workspace import Workspace

    record = load_record(Workspace.at(root), run_id)
    try:
        leader = psutil.Process(record.pid)
        return {leader.pid, *(c.pid for c in leader.children(recursive=True))}
    except psutil.Error:
        return set()


def status_now(root: Path, run_id: str):
    from core.registry.records import read_status
    from core.base.workspace import Workspace

    return read_status(Workspace.at(root), run_id)


def next_epoch_start(root: Path, run_id: str):
    """The run's first status write of its next epoch (written at most every 0.5 s, so close to its start)."""
    epoch = status_now(root, run_id).epoch
    while (status := status_now(root, run_id)).epoch == epoch:
        time.sleep(0.1)
    return status


def browser_cpu_s() -> dict[int, float]:
    """CPU seconds of each Chromium process (the browser is not ours, but it shares the cores)."""
    import psutil

    seconds = {}
    for proc in psutil.process_iter(["name"]):
        name = proc.info["name"] or ""
        if "chrom" in name or "headless_shell" in name:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            seconds[proc.pid] = times.user + times.system
    return seconds


def waited_for_core_s(pids: set[int]) -> dict[int, float]:
    """Per thread of `pids`: seconds it was ready to run but waited for a core (the kernel's schedstat run delay).

    What another process on the machine takes from the training shows here directly; the hypervisor's steal
    and the machine's own speed do not (they make the wall-clock speed drift by more than the effect here).
    """
    waited = {}
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                waited[int(task.name)] = int((task / "schedstat").read_text().split()[1]) / 1e9
            except (OSError, IndexError, ValueError):
                continue
    return waited


@dataclass(frozen=True)
class Window:
    cpu_pct: float  # the dashboard's CPU, % of one core
    steps_per_s: float  # the training's speed
    waited_pct: float  # its threads' time waiting for a core, summed, in % of the window


def window(label: str, root: Path, server_pid: int, run_id: str) -> Window:
    """The dashboard's CPU, the training's speed and its wait for a core, over WINDOW_EPOCHS whole epochs.

    The speed is taken between two of the run's own status writes (step and write time), so the
    windows compare the same work; whole epochs, because evaluations sit between them.
    """
    skip = training_pids(root, run_id)
    first = next_epoch_start(root, run_id)
    cpu0, t0, browser0 = server_cpu_s(server_pid, skip), time.monotonic(), browser_cpu_s()
    wait0 = waited_for_core_s(skip)
    while (last := status_now(root, run_id)).epoch < first.epoch + WINDOW_EPOCHS:
        time.sleep(0.1)
    cpu1, t1, browser1 = server_cpu_s(server_pid, skip), time.monotonic(), browser_cpu_s()
    wait1 = waited_for_core_s(skip)
    cpu_pct = 100 * (cpu1 - cpu0) / (t1 - t0)
    rate = (last.step - first.step) / (last.updated_at_s - first.updated_at_s)
    # Processes alive at both ends only: a closed tab's renderer takes its seconds with it.
    browser_pct = 100 * sum(browser1[pid] - browser0[pid] for pid in browser1 if pid in browser0) / (t1 - t0)
    waited_pct = 100 * sum(wait1[tid] - wait0[tid] for tid in wait1 if tid in wait0) / (t1 - t0)
    print(f"{label}: dashboard CPU {cpu_pct:.1f}% of a core, browser {browser_pct:.1f}%, training {rate:.2f} steps/s, "
          f"waited for a core {waited_pct:.2f}% (steps {first.step}-{last.step}, {t1 - t0:.0f} s)", flush=True)
    return Window(cpu_pct, rate, waited_pct)


def open_tab(context, url: str, title: str, run_id: str):
    tab = context.new_page()
    tab.set_default_timeout(180_000)
    tab.goto(f"{url}/{URL_PATHS[title]}")
    wait_for_page(tab, title, timeout_ms=300_000)
    pick_run(tab, run_id)
    wait_for_page(tab, title)
    return tab


def cold_monitor_s(browser, url: str) -> float:
    """A fresh browser session (no cache) opening Monitor: seconds to its first drawn loss curve."""
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        tab = context.new_page()
        started = time.monotonic()
        tab.goto(f"{url}/monitor")
        tab.locator(CHART).first.wait_for(timeout=180_000)
        return time.monotonic() - started
    finally:
        context.close()


def cold_tensorboard_s(browser, url: str) -> float:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        tab = context.new_page()
        started = time.monotonic()
        tab.goto(url)
        tab.locator(TB_CHART).first.wait_for(timeout=180_000)
        return time.monotonic() - started
    finally:
        context.close()


def warm_switches(browser, url: str) -> list[float]:
    """Page switches in one warm session (each page opened once before), to heading-and-no-spinner."""
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        tab = context.new_page()
        tab.set_default_timeout(180_000)
        tab.goto(url)
        wait_for_page(tab, "Train", timeout_ms=300_000)
        order = ("Monitor", "Disk", "Checkpoints", "Dataset", "Runs", "Train")
        for title in order:  # warm: every page's first render (and its caches) out of the way
            open_page(tab, title)
        times = []
        for title in order:
            started = time.monotonic()
            open_page(tab, title)
            if title == "Monitor":
                tab.locator(CHART).first.wait_for()
            times.append(time.monotonic() - started)
        return times
    finally:
        context.close()


def chart_refresh_ms(steps: int, tmp: Path) -> tuple[float, float, float]:
    """The Monitor's chart refresh on a run of `steps` x 7 scalars: (ms after 100 new scalars, ms with none,
    ms for the same charts rebuilt from the whole series: the alternative, what the page did before).

    As the page does it: the reader reads what was appended, the SVG charts are made again (with no
    new bytes the page's cache answers, which is the stamp check and nothing else).
    """
    import shutil

    import bench_events

    from core.monitor.chart_svg import line_chart_svg, monitor_charts_svg
    from core.monitor.curves import CHART_TAGS, chart_curves
    from core.monitor.events import RunEventReader
    from core.monitor.live_curves import RunCurves

    run = tmp / f"events-{steps}"
    shutil.copytree(bench_events.cached_run(steps), run)
    event_file = next(run.glob("events.out.tfevents.*"))
    reader = RunEventReader(run)
    reader.refresh()
    curves = {"run": RunCurves(reader)}
    monitor_charts_svg(curves, ema=0.6, x_mode="step", log_y=False)
    fresh, unchanged, rebuilt = [], [], []
    for round_ in range(5):
        bench_events.append_scalars(event_file, steps + 1 + round_ * 20, 100)
        started = time.perf_counter()
        reader.refresh()
        monitor_charts_svg(curves, ema=0.6, x_mode="step", log_y=False)
        fresh.append(time.perf_counter() - started)
        started = time.perf_counter()
        reader.refresh()
        _stamp = reader.status().bytes_read  # what the page compares before it touches the cache
        unchanged.append(time.perf_counter() - started)
        started = time.perf_counter()
        for title, tags in CHART_TAGS.items():
            whole = chart_curves({"run": reader}, tags, ema_weight=0.6, x_mode="step", max_points=600)
            if whole:
                line_chart_svg(title, whole)
        rebuilt.append(time.perf_counter() - started)
    return 1000 * min(fresh), 1000 * min(unchanged), 1000 * min(rebuilt)


def watched_rounds(browser, url: str, root: Path, server_pid: int,
                   run_id: str) -> dict[str, tuple[float, float, float]]:
    """A no-tab window, then ROUNDS rounds of: five tabs (Monitor in front), (in the last round only) five tabs
    all visible, one Monitor tab, no tab; every other round one Monitor tab first, then the five tabs. Each
    watched window's speed is taken against the mean of the no-tab windows before and after its round, so a
    drift of the machine's speed over the minutes falls out; returns, per window label, the medians over the
    rounds of (dashboard CPU % of a core, speed ratio, % of the time the training waited for a core),
    (CPU %, 1.0, waited %) for no tab.
    """
    rounds = []
    idle = [window("no tab", root, server_pid, run_id)]
    for round_ in range(ROUNDS):
        # Every other round opens one Monitor tab first and the four others after it: a window's place in
        # its round (first or second after the no-tab window, after tabs were opened or closed) falls out too.
        one_first = round_ % 2 == 1
        context = browser.new_context(viewport={"width": 1400, "height": 1800})
        emulate_tabs(context)
        monitor = open_tab(context, url, "Monitor", run_id)
        monitor.locator(CHART).first.wait_for(timeout=300_000)
        watched = {}
        if one_first:
            time.sleep(SETTLE_S)
            watched["one Monitor tab"] = window("one Monitor tab", root, server_pid, run_id)
        tabs = [open_tab(context, url, title, run_id) for title in FIVE_TABS if title != "Monitor"]
        show_only(monitor, [monitor, *tabs])
        time.sleep(SETTLE_S)
        watched["five tabs, Monitor in front"] = window("five tabs, Monitor in front", root, server_pid, run_id)
        if round_ == ROUNDS - 1:  # not a target: once
            for tab in tabs:
                tab.evaluate("() => window.__setTabHidden(false)")
            watched["five tabs all visible"] = window("five tabs all visible", root, server_pid, run_id)
        if not one_first:
            for tab in tabs:
                tab.close()
            time.sleep(SETTLE_S)
            watched["one Monitor tab"] = window("one Monitor tab", root, server_pid, run_id)
        context.close()
        time.sleep(SETTLE_S)
        idle.append(window("no tab", root, server_pid, run_id))
        rounds.append(watched)
    result = {"no tab": (statistics.median(w.cpu_pct for w in idle), 1.0,
                         statistics.median(w.waited_pct for w in idle))}
    for label in ("five tabs, Monitor in front", "five tabs all visible", "one Monitor tab"):
        cpus, speeds, waits = [], [], []
        for before, watched, after in zip(idle, rounds, idle[1:]):
            if label not in watched:
                continue
            baseline = statistics.mean([before.steps_per_s, after.steps_per_s])
            cpus.append(watched[label].cpu_pct)
            speeds.append(watched[label].steps_per_s / baseline)
            waits.append(watched[label].waited_pct)
        print(f"{label}: speed " + ", ".join(f"{speed:.3f}x" for speed in speeds) + "; waited for a core "
              + ", ".join(f"{wait:.2f}%" for wait in waits), flush=True)
        result[label] = (statistics.median(cpus), statistics.median(speeds), statistics.median(waits))
    return result


def main() -> None:
    global ROUNDS
    if len(sys.argv) > 1:
        ROUNDS = int(sys.argv[1])
    from core.registry.records import read_status
    from core.base.workspace import Workspace

    root, finished = demo_workspace()
    run_folder = Path(read_status(Workspace.at(root), finished).trainer_run_folder)
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp, chromium() as browser:
        logs = Path(tmp)
        with dashboard(root, logs / "streamlit.log") as (server, url, _started):
            warm_up = browser.new_page()
            warm_up.goto(url)
            wait_for_page(warm_up, "Train", timeout_ms=300_000)  # the server's own start is not a window
            # The offload worker loads torch after the first page: a page that asks it something waits for
            # that, so the cold opens below measure a browser session, not the dashboard's own start.
            open_page(warm_up, "Checkpoints")
            warm_up.close()
            time.sleep(5)
            cold = [cold_monitor_s(browser, url) for _ in range(3)]
            switches = warm_switches(browser, url)
            # No checkpoint or best-model saves: how often a best model is saved follows the loss (most often
            # early in the run), which made the windows' speeds drift by 10% with nothing watching.
            live = start_live_run(root, epochs=400, save_checkpoints=False, save_best_after=10_000_000)
            try:
                # Past its first ~500 steps: the run is slower before (by 5-10% here, with nothing watching).
                while status_now(root, live).step < WARM_UP_STEPS:
                    time.sleep(0.5)
                measured = watched_rounds(browser, url, root, server.pid, live)
            finally:
                stop_run(root, live)
                delete_live_run(root, live)
        with tensorboard(run_folder, logs / "tensorboard.log") as (_tb, tb_url, _tb_started):
            cold_tensorboard_s(browser, tb_url)  # its server reads the folder on the first request
            tb_cold = [cold_tensorboard_s(browser, tb_url) for _ in range(3)]
        # The two run lengths in turn, the best of each: the machine's speed drifts from one minute to the next.
        passes = {1_000: [], 100_000: []}
        for pass_ in range(REFRESH_PASSES):
            for steps, results in passes.items():
                results.append(chart_refresh_ms(steps, logs / f"refresh-{pass_}"))
        small, small_idle, small_rebuilt = (min(column) for column in zip(*passes[1_000]))
        large, large_idle, large_rebuilt = (min(column) for column in zip(*passes[100_000]))
    print(f"chart refresh after 100 new scalars: {small:.1f} ms at 1,000 steps, {large:.1f} ms at 100,000 steps "
          f"(rebuilt from the whole series instead: {small_rebuilt:.1f} and {large_rebuilt:.1f} ms, "
          f"{large_rebuilt / large:.1f}x); with nothing new: {small_idle:.2f} and {large_idle:.2f} ms")
    one_cpu, one_speed, one_wait = measured["one Monitor tab"]
    five_cpu, five_speed, five_wait = measured["five tabs, Monitor in front"]
    seen_cpu, seen_speed, seen_wait = measured["five tabs all visible"]
    idle_cpu, _, idle_wait = measured["no tab"]
    ratio = min(one_speed, five_speed)
    print(f"medians over {ROUNDS} rounds: one Monitor tab {one_speed:.3f}x, five tabs {five_speed:.3f}x of the no-tab "
          f"windows around them; idle dashboard CPU {idle_cpu:.1f}% of a core; five tabs all visible (five windows "
          f"side by side, not a target): dashboard CPU {seen_cpu:.1f}%, training {seen_speed:.3f}x")
    print(f"the training waited for a core {idle_wait:.2f}% of the time with no tab, {one_wait:.2f}% with one Monitor "
          f"tab, {five_wait:.2f}% with five tabs, {seen_wait:.2f}% with five visible (medians)")
    print(f"cold Monitor: {', '.join(f'{s:.2f}' for s in cold)} s; cold TensorBoard: "
          f"{', '.join(f'{s:.2f}' for s in tb_cold)} s; warm switches: {', '.join(f'{s:.2f}' for s in switches)} s")
    cold_s, tb_s = statistics.median(cold), statistics.median(tb_cold)
    print(f"live: dashboard_cpu_pct={one_cpu:.1f} five_tabs_cpu_pct={five_cpu:.1f} training_speed_ratio={ratio:.3f} "
          f"cold_chart_s={cold_s:.2f} tb_cold_chart_s={tb_s:.2f} cold_ratio={cold_s / tb_s:.2f} "
          f"warm_switch_s={max(switches):.2f} refresh_100k_over_1k={large / small:.2f} "
          f"core_wait_pct_added={max(one_wait, five_wait) - idle_wait:.2f}")


if __name__ == "__main__":
    main()
