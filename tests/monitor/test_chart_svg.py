"""The Monitor's SVG charts: a well-formed document whose lines, markers and labels follow the data."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from core.monitor.chart_svg import Dot, Marker, line_chart_svg, nice_ticks
from core.monitor.curves import Curve

NS = "{http://www.w3.org/2000/svg}"


def curve(label: str, x, y) -> Curve:
    x, y = np.asarray(x), np.asarray(y, np.float64)
    return Curve(label, x, y, y)


def polylines(svg: str) -> list[list[tuple[float, float]]]:
    root = ET.fromstring(svg)
    return [[tuple(map(float, p.split(","))) for p in line.get("points").split()] for line in root.iter(f"{NS}polyline")]


def test_each_curve_is_a_raw_and_a_smoothed_line_with_its_legend():
    svg = line_chart_svg("Train loss", [curve("loss", [0, 1, 2], [3.0, 2.0, 1.0]), curve("lr", [0, 2], [1.0, 1.0])])
    root = ET.fromstring(svg)
    assert [t.text for t in root.iter(f"{NS}text")][:1] == ["Train loss"]
    assert {"loss", "lr"} <= {t.text for t in root.iter(f"{NS}text")}
    lines = polylines(svg)
    assert [len(points) for points in lines] == [3, 3, 2, 2]
    # Falling values go down the page: y grows downwards in SVG.
    ys = [y for _x, y in lines[0]]
    assert ys == sorted(ys)


def test_a_missing_value_breaks_the_line_and_log_scale_drops_non_positive_values():
    gap = polylines(line_chart_svg("t", [curve("a", [0, 1, 2, 3], [1.0, np.nan, 2.0, 3.0])]))
    assert [len(points) for points in gap] == [1, 2, 1, 2]
    logged = polylines(line_chart_svg("t", [curve("a", [0, 1, 2], [0.0, 10.0, 100.0])], log_y=True))
    assert [len(points) for points in logged] == [2, 2]


def test_markers_in_range_are_drawn_dotted_or_dashed_and_others_left_out():
    svg = line_chart_svg("t", [curve("a", [0, 100, 200], [1, 2, 3])],
                         markers=(Marker(100), Marker(150, best=True), Marker(900)))
    assert svg.count('stroke-dasharray="2 3"') == 1 and svg.count('stroke-dasharray="6 4"') == 1


def test_dots_are_labelled_and_one_past_the_last_point_widens_the_axis():
    svg = line_chart_svg("t", [curve("a", [0, 100, 199], [3, 2, 1])],
                         dots=(Dot(100, 2.0, "step 100"), Dot(240, 0.5, "step 240 <best>", best=True)))
    root = ET.fromstring(svg)
    circles = [(float(c.get("cx")), float(c.get("cy")), c.get("fill")) for c in root.iter(f"{NS}circle")]
    assert len(circles) == 2 and circles[1][2] == "#2ca02c" and circles[0][2] != "#2ca02c"
    line = polylines(svg)[0]
    assert circles[1][0] > max(x for x, _y in line)  # step 240 is right of the curve's last point, inside the chart
    assert circles[1][1] > max(y for _x, y in line)  # loss 0.5 is below the curve's lowest point
    labels = {t.text: t.get("text-anchor") for t in root.iter(f"{NS}text")}
    assert labels["step 240 <best>"] == "end" and labels["step 100"] == "middle"  # at the right edge: drawn inwards


def test_wall_time_is_labelled_as_clock_time_and_labels_are_escaped():
    start = np.datetime64("2026-12-02T10:00:00")
    x = start + np.arange(0, 3600, 600).astype("timedelta64[s]")
    svg = line_chart_svg("a <b>", [curve("x & y", x, np.arange(6.0))])
    texts = [t.text for t in ET.fromstring(svg).iter(f"{NS}text")]
    assert "a <b>" in texts and "x & y" in texts and "10:00" in texts


def test_no_points_says_so():
    svg = line_chart_svg("t", [curve("a", [], [])])
    assert "no points yet" in svg and not polylines(svg)


@pytest.mark.parametrize("low, high", [(0.0, 7.7), (-0.33, 7.71), (1e-4, 3e-4), (5.0, 5.0), (0, 240)])
def test_ticks_are_round_and_cover_the_range(low, high):
    ticks = nice_ticks(low, high, 6)
    assert ticks and all(low - 1e-12 <= t <= high + 1e-12 for t in ticks)
    if high > low:
        steps = np.diff(ticks)
        assert np.allclose(steps, steps[0]) and 2 <= len(ticks) <= 11
