"""Notifications: tell the user when a run finishes, fails, stops or is about to fill the disk.

`events` is what a notification says (one `NotificationEvent` per event, with an idempotency key);
`run_events` builds the run events from plain values; `channels` keeps the Apprise URLs (a 0600
file, shown only masked); `history` is the append-only record of events and delivery attempts
(the browser toasts and the Notifications panel read it; its keys make each event go out at most
once); `dispatch.Notifier` records an event and starts `delivery`, the detached process that sends
it to every Apprise service with retries, so a slow or dead service never holds up a run.

May import: core.base and core.registry (the exit codes). The training process
(core.runs), the pages and future jobs (datasets, synthesis) import it; it imports none of them.
"""
