"""Apprise URLs: refused with a message when malformed, stored 0600, never shown or logged in full."""
from __future__ import annotations

import json
import logging
import os
import stat

import pytest

from core.notify.channels import (HIDDEN, Channels, RetryPolicy, UrlRefused, add_url, check_url, mask_url,
                                  read_channels, redact, remove_channel, write_channels)
from core.notify.files import NotifyFiles

SECRET = "pa55w0rdXYZ"


@pytest.fixture
def files(tmp_path) -> NotifyFiles:
    return NotifyFiles(tmp_path / "ws" / "notify")


@pytest.mark.parametrize("url", [
    f"json://bob:{SECRET}@",  # no host
    f"nosuchservice://bob:{SECRET}@example.com/x",  # no such Apprise service
    f"bob:{SECRET}@example.com",  # no scheme
    f"mailto://{SECRET}",  # not an address
    "   ",
    f"json://127.0.0.1/{SECRET} json://127.0.0.1/other",  # two URLs in one entry
    "json://127.0.0.1/" + "x" * 3000,
])
def test_a_malformed_url_is_refused_with_a_message_that_does_not_repeat_it(files, url, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(UrlRefused) as refused:
        add_url(files, url)
    message = str(refused.value)
    assert message and SECRET not in message
    assert not url.strip() or url.strip() not in message
    assert not files.urls.exists(), "nothing is stored for a refused URL"
    assert SECRET not in caplog.text, "Apprise's own log of the bad URL stays out of the host's log handlers"


def test_an_accepted_url_is_stored_0600_and_only_there(files):
    channel = add_url(files, f"  json://bob:{SECRET}@127.0.0.1:8999/hook?token={SECRET}  ")
    assert channel.url == f"json://bob:{SECRET}@127.0.0.1:8999/hook?token={SECRET}"
    assert stat.S_IMODE(files.urls.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.folder.stat().st_mode) == 0o700
    assert [c.url for c in read_channels(files).channels] == [channel.url]
    assert [p.name for p in files.folder.iterdir()] == ["urls.json"], "no temp file left behind"
    assert SECRET not in channel.channel_id and channel.label == "json://127.0.0.1:8999"


def test_the_same_url_twice_is_refused_and_removal_keeps_the_others(files):
    first = add_url(files, "json://127.0.0.1:1/a")
    second = add_url(files, "ntfys://ntfy.sh/my-topic-123")
    with pytest.raises(UrlRefused, match="already"):
        add_url(files, "json://127.0.0.1:1/a")
    remove_channel(files, first.channel_id)
    assert [c.channel_id for c in read_channels(files).channels] == [second.channel_id]
    assert stat.S_IMODE(files.urls.stat().st_mode) == 0o600


def test_a_widened_url_file_is_tightened_when_read(files):
    add_url(files, "json://127.0.0.1:1/a")
    os.chmod(files.urls, 0o644)
    read_channels(files)
    assert stat.S_IMODE(files.urls.stat().st_mode) == 0o600


def test_missing_damaged_or_odd_files_read_as_no_channels(files):
    assert read_channels(files) == Channels()
    files.ensure()
    files.urls.write_text("{not json")
    assert read_channels(files) == Channels()
    files.urls.write_text(json.dumps({"channels": [{"id": 3, "url": "x"}, "junk", {"id": "a", "url": "json://h/"}],
                                      "retry_delays_s": "soon"}))
    channels = read_channels(files)
    assert [c.channel_id for c in channels.channels] == ["a"] and channels.retry == RetryPolicy()


def test_the_retry_policy_round_trips(files):
    write_channels(files, Channels(retry=RetryPolicy((0.5, 1.0), 2.0)))
    assert read_channels(files).retry == RetryPolicy((0.5, 1.0), 2.0)
    assert RetryPolicy().attempts == 5


@pytest.mark.parametrize("url, label", [
    (f"json://bob:{SECRET}@127.0.0.1:8999/hook", "json://127.0.0.1:8999"),
    (f"mailto://me:{SECRET}@gmail.com", "mailto://gmail.com"),
    ("ntfys://ntfy.sh/private-topic", "ntfys://ntfy.sh"),
    (f"tgram://123456789:{SECRET}/-100200300", f"tgram://{HIDDEN}"),  # the "host" is the bot token
    (f"discord://{SECRET}/webhooktoken", f"discord://{HIDDEN}"),
    (f"ntfy://{SECRET}", f"ntfy://{HIDDEN}"),
    ("not a url", f"?://{HIDDEN}"),
])
def test_masking_shows_scheme_and_a_network_host_only(url, label):
    assert mask_url(url) == label
    assert SECRET not in mask_url(url)


def test_redaction_removes_every_secret_piece_of_the_url():
    url = f"json://bob:{SECRET}@127.0.0.1:8999/hook-{SECRET}?token=tok{SECRET}"
    said = f"Failed to send to {url} as bob:{SECRET} (token tok{SECRET}, path /hook-{SECRET}) at 127.0.0.1."
    cleaned = redact(said, [url])
    assert SECRET not in cleaned and "127.0.0.1" in cleaned and HIDDEN in cleaned


def test_check_url_strips_and_returns_a_good_url():
    assert check_url(" json://127.0.0.1:1/a \n") == "json://127.0.0.1:1/a"
