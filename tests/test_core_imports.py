"""core/ is plain Python in layers: every module imports without streamlit, and no import runs upward."""
import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CHECK = """
import importlib, pkgutil, sys
sys.modules["streamlit"] = None  # any `import streamlit` now raises ImportError
names = [m.name for m in pkgutil.walk_packages(["core"], "core.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""
# Which packages each package may import (README "Architecture"); core.cli is the entry point on top.
ALLOWED = {
    "base": {"base"},
    "registry": {"base", "registry"},
    "offload": {"base", "checkpoints", "disk", "offload"},  # runs named calls; imports only to set up caches
    "notify": {"base", "registry", "notify"},
    "jobs": {"base", "registry", "jobs"},
    "language": {"base", "language"},
    "dataset": {"base", "registry", "jobs", "language", "dataset"},
    "checkpoints": {"base", "registry", "checkpoints"},
    "trainer": {"base", "registry", "jobs", "language", "dataset", "checkpoints", "trainer"},
    "disk": {"base", "registry", "jobs", "language", "dataset", "checkpoints", "trainer", "disk"},
    "runs": {"base", "registry", "jobs", "language", "dataset", "notify", "checkpoints", "trainer", "disk", "monitor",
             "runs"},
    "monitor": {"base", "registry", "language", "checkpoints", "monitor"},
    "overview": {"base", "registry", "jobs", "language", "dataset", "checkpoints", "trainer", "disk", "overview"},
    "listen": {"base", "registry", "jobs", "language", "dataset", "checkpoints", "trainer", "listen"},
}
ENTRY_POINTS = {"cli"}  # the CLI sits on top, beside the pages


def core_modules() -> list[Path]:
    return sorted(p for p in (PROJECT / "core").rglob("*.py"))


def layer_of_module(dotted: str) -> str:
    parts = dotted.split(".")
    assert len(parts) >= 2 and (PROJECT / "core" / parts[1]).is_dir(), f"{dotted}: core/ holds packages only"
    return parts[1]


def imported_core_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core"):
            found.add(node.module if node.module != "core" else f"core.{node.names[0].name}")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("core."))
    return found


def test_every_core_module_imports_without_streamlit():
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    expected = [m for m in pkgutil.walk_packages([str(PROJECT / "core")], "core.") if not m.name.endswith("__main__")]
    assert int(result.stdout.strip()) == len(expected) > 40


def test_no_core_source_mentions_streamlit_imports():
    for path in core_modules():
        for line in path.read_text().splitlines():
            assert not line.strip().startswith(("import streamlit", "from streamlit")), path


def test_no_import_runs_up_the_layers():
    upward = []
    for path in core_modules():
        relative = path.relative_to(PROJECT).as_posix()
        if relative == "core/__init__.py":
            continue
        own = relative.split("/")[1]
        if own in ENTRY_POINTS:
            continue
        for module in imported_core_modules(path):
            if layer_of_module(module) not in ALLOWED[own]:
                upward.append(f"{relative} imports {module}")
    assert upward == []


def test_core_holds_packages_only():
    loose = [p.name for p in (PROJECT / "core").glob("*.py") if p.name != "__init__.py"]
    assert loose == [], "group these by concern into a package under core/"


def test_every_package_says_what_it_holds():
    for init in (PROJECT / "core").glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "import" in doc, f"{init} needs a docstring saying what it holds and what it may import"
