"""The UI process stays light: no page, and nothing a page imports or calls, loads torch, coqui-tts or trainer.

Each page runs under AppTest in a fresh interpreter where those packages cannot be imported at
all (like the streamlit-free test of core/), on a workspace with a finished demo run; the heavy
answers the pages show come from core.offload's worker processes, which import them freely.
"""
import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PAGES = ("streamlit_app.py", "pages/train.py", "pages/monitor.py", "pages/disk.py", "pages/checkpoints.py",
         "pages/runs.py", "pages/dataset.py")
HEAVY = ("torch", "torchaudio", "TTS", "trainer", "faster_whisper", "silero_vad", "ctranslate2", "transformers")
SCRIPT = """
import json, sys
HEAVY = set(sys.argv[4].split(","))

class Unimportable:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ImportError(f"{name} is kept out of the UI process")
        return None

sys.meta_path.insert(0, Unimportable())
from streamlit.testing.v1 import AppTest

at = AppTest.from_file(sys.argv[1], default_timeout=240)
at.session_state["workspace_root"] = sys.argv[2]
at.session_state["selected_run_id"] = sys.argv[3]
at.run()
texts = [e.value for group in (at.title, at.header, at.subheader, at.info, at.success, at.warning, at.error,
                               at.caption, at.markdown) for e in group]
loaded = sorted({m.split(".")[0] for m in sys.modules} & HEAVY)
where = lambda e: " <- ".join(line.strip() for line in e.stack_trace if "/work" in line or "File" in line)[-1500:]
print(json.dumps({"exception": [f"{e.value} at {where(e)}" for e in at.exception], "texts": texts, "loaded": loaded}))
"""


def render_without_heavy_packages(page: str, root: Path, run_id: str) -> dict:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(PROJECT / page), str(root), run_id, ",".join(HEAVY)],
                            cwd=PROJECT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_page_renders_with_torch_coqui_and_trainer_unimportable(demo_run):
    shown = {}
    for page in PAGES:
        outcome = render_without_heavy_packages(page, demo_run.ws.root, demo_run.record.run_id)
        assert outcome["exception"] == [], (page, outcome["exception"])
        assert outcome["loaded"] == [], page
        shown[page] = " ".join(outcome["texts"])
    # The heavy answers arrived from the workers: the disk forecast, the checkpoints with their steps.
    assert "Disk forecast: peak" in shown["pages/train.py"]
    assert "Peak" in shown["pages/disk.py"] or "peak" in shown["pages/disk.py"]
    assert "step" in shown["pages/checkpoints.py"].lower()
