"""The Apprise services notifications go to, kept in a file only its owner can read.

An Apprise URL usually carries a secret (`tgram://<bot token>/<chat id>`,
`mailto://user:password@gmail.com`, a webhook token in the path). So the URLs live in
`notify/urls.json`, created 0600 (a 0600 temp file renamed over the old one: there is no moment
when they sit in a readable file), and leave this module only towards the delivery process. The
page, the history and the logs see `mask_url` (scheme and host, the host only when it is a network
address, because for many services the "host" is the token), and `redact` scrubs what Apprise
says when a delivery fails.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

from core.base.atomic_io import read_json, write_json_atomic
from core.notify.files import NotifyFiles

URLS_FILE_MODE = 0o600
MAX_URL_CHARS = 2048
HIDDEN = "•••"
APPRISE_HELP = "https://github.com/caronc/apprise/wiki"


class UrlRefused(ValueError):
    """A URL that cannot be used; the message says why and never repeats the URL (it may hold a password)."""


@dataclass(frozen=True)
class RetryPolicy:
    delays_s: tuple[float, ...] = (2.0, 10.0, 30.0, 120.0)  # waits between attempts: a ~3 min outage is covered
    timeout_s: float = 5.0  # connect and read timeout of one attempt (Apprise's cto / rto)

    @property
    def attempts(self) -> int:
        return 1 + len(self.delays_s)


@dataclass(frozen=True)
class Channel:
    channel_id: str  # random, not derived from the URL: the history names a channel without a hash of its secret
    url: str

    @property
    def label(self) -> str:
        return mask_url(self.url)


@dataclass(frozen=True)
class Channels:
    channels: tuple[Channel, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class _Redactor(logging.Filter):
    def __init__(self, urls: tuple[str, ...]):
        super().__init__()
        self.urls = urls

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), self.urls), ()
        return True


@contextmanager
def apprise_logs_redacted(*urls: str) -> Iterator[None]:
    """While Apprise handles `urls`, its log records (which can quote a URL) are redacted before any
    handler sees them: its own capture, the host's handlers, or a test's (pytest attaches to it)."""
    logger = logging.getLogger("apprise")
    redactor = _Redactor(urls)
    logger.addFilter(redactor)
    try:
        yield
    finally:
        logger.removeFilter(redactor)


def read_channels(files: NotifyFiles) -> Channels:
    """The configured channels; a missing or damaged file reads as none."""
    data = read_json(files.urls)
    if not isinstance(data, dict):
        return Channels()
    if files.urls.exists() and files.urls.stat().st_mode & 0o077:
        os.chmod(files.urls, URLS_FILE_MODE)  # someone widened it: tighten it again before anything else reads it
    channels = tuple(Channel(str(c["id"]), str(c["url"])) for c in data.get("channels", [])
                     if isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("url"), str))
    retry = RetryPolicy()
    try:
        if "retry_delays_s" in data:
            retry = replace(retry, delays_s=tuple(max(0.0, float(d)) for d in data["retry_delays_s"]))
        if "timeout_s" in data:
            retry = replace(retry, timeout_s=max(0.5, float(data["timeout_s"])))
    except (TypeError, ValueError):
        retry = RetryPolicy()
    return Channels(channels, retry)


def write_channels(files: NotifyFiles, channels: Channels) -> None:
    """Write urls.json atomically, mode 0600 from its first byte."""
    files.ensure()
    data = {"channels": [{"id": c.channel_id, "url": c.url} for c in channels.channels],
            "retry_delays_s": list(channels.retry.delays_s), "timeout_s": channels.retry.timeout_s}
    write_json_atomic(files.urls, data, mode=URLS_FILE_MODE)


def check_url(url: str) -> str:
    """The URL, stripped, when Apprise can use it; UrlRefused (with the fix) otherwise."""
    import apprise
    from apprise.utils.parse import parse_urls

    url = url.strip()
    if not url:
        raise UrlRefused("Type an Apprise URL first, e.g. ntfys://ntfy.sh/<topic> or "
                         "mailto://<user>:<password>@gmail.com.")
    if len(url) > MAX_URL_CHARS:
        raise UrlRefused(f"That URL is longer than {MAX_URL_CHARS} characters; Apprise URLs are much shorter.")
    if len(parse_urls(url)) != 1:
        raise UrlRefused("Add one Apprise URL at a time.")
    with apprise_logs_redacted(url), apprise.LogCapture(level=logging.ERROR):  # it logs "Unparseable URL ..."
        accepted = apprise.Apprise().add(url)
    if not accepted:
        scheme = urlsplit(url).scheme
        known = f" for {scheme}://" if re.fullmatch(r"[a-z][a-z0-9+.-]{0,15}", scheme or "") else ""
        raise UrlRefused(f"Apprise cannot use this URL{known}: it is malformed or names no service Apprise knows. "
                         f"Check its form on the service's page at {APPRISE_HELP} (the URL is not shown here, "
                         "as it may hold a password or token).")
    return url


def add_url(files: NotifyFiles, url: str) -> Channel:
    """Validate `url` and append it to the channels; raises UrlRefused."""
    url = check_url(url)
    current = read_channels(files)
    if any(c.url == url for c in current.channels):
        raise UrlRefused("That URL is already in the list.")
    channel = Channel(secrets.token_hex(4), url)
    write_channels(files, replace(current, channels=(*current.channels, channel)))
    return channel


def remove_channel(files: NotifyFiles, channel_id: str) -> None:
    current = read_channels(files)
    write_channels(files, replace(current, channels=tuple(c for c in current.channels if c.channel_id != channel_id)))


def _looks_like_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return host == "localhost" or (len(labels) >= 2 and labels[-1].isalpha()
                                   and all(re.fullmatch(r"[a-z0-9-]{1,63}", label) for label in labels))


def mask_url(url: str) -> str:
    """`scheme://host[:port]` of an Apprise URL, with the host hidden unless it is a network address."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower() if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,15}", parts.scheme or "") else "?"
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # "tgram://123:ABC/" reads as a host with a non-numeric port: it is a token
        host, port = None, None
    if host and _looks_like_address(host):
        return f"{scheme}://{host}" + (f":{port}" if port else "")
    return f"{scheme}://{HIDDEN}"


def _secret_parts(url: str) -> set[str]:
    parts = urlsplit(url)
    found = {url, parts.netloc, parts.path, parts.query, parts.fragment, parts.username or "", parts.password or ""}
    try:
        host = parts.hostname or ""
    except ValueError:
        host = parts.netloc.rsplit("@", 1)[-1]
    if not _looks_like_address(host):
        found.add(host)
    found.update(segment for segment in re.split(r"[/:@]", parts.path + "/" + parts.netloc) if segment)
    found.update(value for _key, value in parse_qsl(parts.query))
    found.update(unquote(p) for p in list(found))
    # Short pieces ("json", "1") are no secret and would shred the message; the masked label stays readable.
    return {p for p in found if len(p) >= 4 and p not in mask_url(url)}


def redact(text: str, urls: list[str] | tuple[str, ...]) -> str:
    """`text` with every URL in `urls`, and each secret-looking piece of it, replaced by •••."""
    for piece in sorted({p for url in urls for p in _secret_parts(url)}, key=len, reverse=True):
        text = text.replace(piece, HIDDEN)
    return text
