"""The notification targets of tests/notify/receiver.py as fixtures of this folder."""
from tests.notify.receiver import dead_url, receiver  # noqa: F401 - re-exported fixtures
