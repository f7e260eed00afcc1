"""core/ is plain Python: every module imports with streamlit unimportable."""
import pkgutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CHECK = """
import importlib, pkgutil, sys
sys.modules["streamlit"] = None  # any `import streamlit` now raises ImportError
names = [m.name for m in pkgutil.iter_modules(["core"])]
for name in names:
    importlib.import_module("core." + name)
print(len(names))
"""


def test_every_core_module_imports_without_streamlit():
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == len(list(pkgutil.iter_modules([str(PROJECT / "core")])))


def test_no_core_source_mentions_streamlit_imports():
    for path in (PROJECT / "core").glob("*.py"):
        for line in path.read_text().splitlines():
            assert not line.strip().startswith(("import streamlit", "from streamlit")), path
