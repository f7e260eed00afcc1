"""What the Monitor page shows, read back from its AppTest elements: its live panel is HTML
(pages.status_html), its charts SVG images."""
from __future__ import annotations

import base64
import re
from html import unescape


def svg_of(image_list) -> str:
    """The SVG document of an st.image element (sent as a data URL)."""
    url = image_list.proto.imgs[0].url
    assert url.startswith("data:image/svg+xml;base64,"), url[:40]
    return base64.b64decode(url.split(",", 1)[1]).decode()


def html_bodies(at) -> list[str]:
    return [element.proto.body for element in at.get("html")]


def _one(pattern: str, at) -> re.Match:
    found = [m for body in html_bodies(at) for m in re.finditer(pattern, body, re.DOTALL)]
    assert len(found) == 1, (pattern, len(found))
    return found[0]


def log_text(at) -> str:
    """The text of the log box."""
    return unescape(_one(r'<div class="lp-log"[^>]*>(.*?)</div>', at).group(1))


def event_rows(at) -> list[list[str]]:
    """The events table's rows, cells as shown (the first cell is the time saved)."""
    table = _one(r"<h3>Events</h3>(.*?)</div>", at).group(1)
    return [[unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row)] for row in re.findall(r"<tr>(.*?)</tr>", table)
            if "<td>" in row]


def progress_text(at) -> str:
    return unescape(_one(r'<div class="lp-progress-text">(.*?)</div>', at).group(1))


def metrics(at) -> dict[str, str]:
    """label -> value of the live panel's metrics."""
    return {unescape(label): unescape(value) for body in html_bodies(at) for label, value in
            re.findall(r'<div class="lp-label">(.*?)</div><div class="lp-value">(.*?)</div>', body)}
