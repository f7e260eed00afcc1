"""Delivering one event to its Apprise channels: `python -m core.notify.delivery <notify folder> <key>`.

This runs as its own process, started in its own session by `dispatch.Notifier`, because

- the run that reported the event must not wait for a service: the training process starts this
  in milliseconds and goes on (or exits);
- the trainer leaves with os._exit(130) right after a SIGINT save, and a stop that escalates
  SIGKILLs the run's whole process group: a thread in the training process would die with it;
- the URLs never go on a command line (`ps` shows those): this process reads them from urls.json.

Each channel gets `RetryPolicy.attempts` tries, `delays_s` apart, each bounded by Apprise's connect
and read timeouts and its per-service timeout; an alarm ends the process should anything still hang
(a DNS lookup is not bounded by socket timeouts). Every attempt is recorded in the history, and a
channel recorded as sent is not sent to again.
"""
from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path
from typing import Callable

from core.notify.channels import Channel, apprise_logs_redacted, read_channels, redact
from core.notify.events import NotificationEvent
from core.notify.files import NotifyFiles
from core.notify.history import Delivery, find_event, read_history, record_delivery

ALARM_SLACK_S = 30


def send_once(url: str, event: NotificationEvent, timeout_s: float) -> tuple[bool, str]:
    """One attempt through Apprise: (sent, why not), the reason redacted of the URL's secrets."""
    import apprise

    asset = apprise.AppriseAsset(storage_mode="memory", service_timeout=timeout_s * 3)
    sender = apprise.Apprise(asset=asset)
    with apprise_logs_redacted(url), apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        if not sender.add(url):
            return False, "Apprise no longer accepts this URL (was Apprise upgraded?)"
        for service in sender:
            # The URL may ask for longer (cto= / rto=); one attempt never waits longer than the policy says.
            service.socket_connect_timeout = min(float(service.socket_connect_timeout), timeout_s)
            service.socket_read_timeout = min(float(service.socket_read_timeout), timeout_s)
        sent = bool(sender.notify(body=event.body, title=event.title, notify_type=apprise.NotifyType(event.level.value),
                                  body_format=apprise.NotifyFormat.TEXT))
    if sent:
        return True, ""
    said = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
    return False, redact(said[-1] if said else "the service did not accept the notification", [url])[:300]


def _log(message: str) -> None:
    print(time.strftime("%Y-%m-%d %H:%M:%S ") + message, flush=True)


Sender = Callable[[str, NotificationEvent, float], tuple[bool, str]]


def deliver(files: NotifyFiles, key: str, *, send: Sender = send_once,
            sleep: Callable[[float], None] = time.sleep) -> None:
    """Send event `key` to every channel it was claimed for, retrying each with backoff."""
    record = find_event(files, key)
    if record is None:
        _log(f"{key}: no such event in the history; nothing sent")
        return
    config = read_channels(files)
    by_id: dict[str, Channel] = {c.channel_id: c for c in config.channels}
    done = {d.channel_id for d in read_history(files) if isinstance(d, Delivery) and d.key == key and (d.ok or d.final)}
    pending = [(cid, label) for cid, label in record.targets if cid not in done]
    policy = config.retry
    for attempt in range(1, policy.attempts + 1):
        retry = []
        for channel_id, label in pending:
            channel = by_id.get(channel_id)
            if channel is None:
                ok, error, final = False, "the channel was removed before the notification could be sent", True
            else:
                ok, error = send(channel.url, record.event, policy.timeout_s)
                final = ok or attempt == policy.attempts
            retry_in = None if final else policy.delays_s[attempt - 1]
            record_delivery(files, Delivery(key, channel_id, label, attempt, ok, final, error, retry_in, time.time()))
            _log(f"{key} -> {label}: attempt {attempt}/{policy.attempts} "
                 + ("sent" if ok else f"failed: {error}" + ("" if final else f"; retrying in {retry_in:g} s")))
            if not final:
                retry.append((channel_id, label))
        pending = retry
        if not pending:
            return
        sleep(policy.delays_s[attempt - 1])


def main(argv: list[str]) -> int:
    files, key = NotifyFiles(Path(argv[1])), argv[2]
    # Libraries under Apprise (urllib3, smtplib...) may log a request's path, which can hold a token;
    # with a root handler present, Python's last-resort handler never prints them into sender.log.
    logging.getLogger().addHandler(logging.NullHandler())
    policy = read_channels(files).retry
    # Never outlive the policy by much, whatever hangs; SIGALRM's default action ends the process.
    signal.alarm(int(sum(policy.delays_s) + policy.attempts * policy.timeout_s * 3 + ALARM_SLACK_S))
    try:
        deliver(files, key)
    except Exception as exc:  # noqa: BLE001 - reported (redacted) in sender.log, never raised at anyone
        urls = [c.url for c in read_channels(files).channels]
        _log(f"{key}: delivery stopped by {type(exc).__name__}: {redact(str(exc), urls)[:300]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
