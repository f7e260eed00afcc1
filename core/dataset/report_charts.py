"""The two plots of a dataset report: how long the clips are, and how fast each is spoken.

Built with plotly.graph_objects in core/ so a page only calls `st.plotly_chart` on them.
"""
from __future__ import annotations

import plotly.graph_objects as go

from core.dataset.report import DatasetReport, IssueKind


def plotly_figures(report: DatasetReport) -> tuple[go.Figure, go.Figure]:
    """(duration histogram, characters-per-second against duration scatter, outliers in red)."""
    histogram = go.Figure(go.Histogram(x=list(report.durations_s), nbinsx=40, name="clips"))
    histogram.update_layout(title="Clip durations", xaxis_title="duration (s)", yaxis_title="clips",
                            bargap=0.05, margin=dict(t=40, b=40, l=40, r=10))

    outliers = {i.line_no for i in report.issues if i.kind == IssueKind.RATE_OUTLIER}
    labels = [f"line {line}" for line in report.clip_line_nos]
    colours = ["crimson" if line in outliers else "steelblue" for line in report.clip_line_nos]
    scatter = go.Figure(go.Scatter(
        x=list(report.durations_s), y=list(report.chars_per_s), mode="markers", text=labels,
        marker=dict(color=colours, size=6), hovertemplate="%{text}<br>%{x:.2f} s, %{y:.1f} chars/s<extra></extra>"))
    if report.median_chars_per_s:
        scatter.add_hline(y=report.median_chars_per_s, line_dash="dot",
                          annotation_text=f"median {report.median_chars_per_s:.1f} chars/s")
    scatter.update_layout(title="Speaking rate (outliers in red: wrong transcript or bad cut?)",
                          xaxis_title="duration (s)", yaxis_title="characters per second",
                          margin=dict(t=40, b=40, l=40, r=10))
    return histogram, scatter
