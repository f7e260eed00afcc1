import pytest


@pytest.mark.parametrize("name", ["pages/train.py", "pages/monitor.py", "pages/disk.py", "pages/checkpoints.py"])
def test_page_renders_without_errors(page, name):
    at = page(name).run()
    assert not at.exception, at.exception
