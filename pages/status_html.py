"""A live panel as few HTML elements: the run's numbers (a line, a progress bar, rows of metrics),
its log and its events, each one element.

Why not st.progress, a row of st.metric, st.text and a markdown table: on every refresh each element
of a fragment is sent again and re-rendered by the browser one by one, and the browser shares the
cores with the training. The Monitor's live panel was twenty elements; as three it costs the
browser a third less CPU per refresh (benchmarks/bench_live.py). Everything shown is escaped here.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

# Close to Streamlit's own metric, progress, heading and code looks, in its theme's colours and fonts.
STYLE = """
.live-panel { font-family: inherit; color: inherit; }
.live-panel .lp-line { margin: 0 0 0.5rem 0; }
.live-panel .lp-progress { margin: 0 0 0.9rem 0; }
.live-panel .lp-progress-text { font-size: 0.875rem; margin-bottom: 0.25rem; }
.live-panel .lp-bar { height: 0.5rem; border-radius: 0.25rem; background: rgba(151, 166, 195, 0.25); overflow: hidden; }
.live-panel .lp-bar > div { height: 100%; background: #1c83e1; }
.live-panel .lp-row { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 1rem; margin-bottom: 0.9rem; }
.live-panel .lp-label { font-size: 0.875rem; opacity: 0.75; }
.live-panel .lp-value { font-size: 2.25rem; line-height: 1.3; white-space: nowrap; overflow: hidden;
                        text-overflow: ellipsis; }
.live-panel .lp-caption { font-size: 0.8rem; opacity: 0.6; }
.live-panel .lp-columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; }
.live-panel h3 { font-size: 1.5rem; font-weight: 600; margin: 0.5rem 0 0.5rem 0; padding: 0; }
.live-panel .lp-log { font-family: "Source Code Pro", monospace; font-size: 0.8rem; white-space: pre-wrap;
                      overflow-wrap: anywhere; overflow-y: auto;
                      border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; padding: 0.5rem 0.75rem; }
.live-panel table { border-collapse: collapse; font-size: 0.875rem; width: 100%; }
.live-panel th, .live-panel td { border: 1px solid rgba(49, 51, 63, 0.15); padding: 0.25rem 0.5rem; text-align: left;
                                 vertical-align: top; }
"""


@dataclass(frozen=True)
class Metric:
    label: str
    value: str
    caption: str = ""


@dataclass(frozen=True)
class Progress:
    fraction: float
    text: str


def _panel(body: str) -> str:
    return f'<style>{STYLE}</style><div class="live-panel">{body}</div>'


def numbers_html(line: list[tuple[str, bool]], progress: Progress | None, rows: list[list[Metric]]) -> str:
    """The run's line (pieces of text, each (text, bold)), its progress bar and rows of up to four metrics."""
    parts = ['<p class="lp-line">' + "".join(f"<strong>{escape(text)}</strong>" if bold else escape(text)
                                               for text, bold in line) + "</p>"]
    if progress is not None:
        percent = 100 * min(max(progress.fraction, 0.0), 1.0)
        parts.append(f'<div class="lp-progress" role="progressbar" aria-valuenow="{percent:.0f}" aria-valuemin="0" '
                     f'aria-valuemax="100" aria-label="{escape(progress.text)}"><div class="lp-progress-text">'
                     f'{escape(progress.text)}</div><div class="lp-bar"><div style="width: {percent:.2f}%"></div>'
                     f'</div></div>')
    for row in rows:
        cells = []
        for metric in row:
            caption = f'<div class="lp-caption">{escape(metric.caption)}</div>' if metric.caption else ""
            cells.append(f'<div class="lp-metric"><div class="lp-label">{escape(metric.label)}</div>'
                         f'<div class="lp-value">{escape(metric.value)}</div>{caption}</div>')
        parts.append('<div class="lp-row">' + "".join(cells) + "</div>")
    return _panel("".join(parts))


def table_html(rows: list[dict]) -> str:
    """Rows as a table (columns from the first row), every cell taken literally."""
    if not rows:
        return ""
    columns = list(rows[0])
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if row.get(c) is None else str(row.get(c)))}</td>"
                                    for c in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(frozen=True)
class Column:
    """One column of `columns_html`: a heading, notes above the content, then a log box or a table."""
    heading: str
    notes: tuple[str, ...] = ()
    log_lines: tuple[str, ...] | None = None  # a scrolling log box of these lines, when given
    log_height_px: int = 320
    empty: str = ""
    rows: tuple[dict, ...] = ()


def _column(column: Column) -> str:
    parts = [f"<h3>{escape(column.heading)}</h3>"]
    parts += [f'<p class="lp-caption">{escape(note)}</p>' for note in column.notes]
    if column.log_lines is not None:
        text = "\n".join(column.log_lines) or column.empty
        parts.append(f'<div class="lp-log" style="height: {column.log_height_px}px">{escape(text)}</div>')
    elif column.rows:
        parts.append(table_html(list(column.rows)))
    elif column.empty:
        parts.append(f'<p class="lp-caption">{escape(column.empty)}</p>')
    return "<div>" + "".join(parts) + "</div>"


def columns_html(left: Column, right: Column) -> str:
    """Two columns side by side (three parts to two), as one element."""
    return _panel(f'<div class="lp-columns">{_column(left)}{_column(right)}</div>')
