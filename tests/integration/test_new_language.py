"""A language XTTS does not know (Amharic, Ethiopic script), end to end with the real trainer."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.checkpoints.ops import promote, vocab_beside
from core.base.errors import ConfigInvalid
from core.registry.state import RunPhase, read_run_state
from core.runs.launcher import start_run, wait_until_ended
from core.trainer.demo import demo_config
from core.trainer.new_language import coverage_for_run, extend_for_run
from core.trainer.preflight import preflight
from core.base.workspace import Workspace

PROJECT = Path(__file__).resolve().parents[2]
SENTENCE = "ሰላም ለዓለም። እንዴት ነህ?"


def ethiopic_sentences(count: int) -> list[str]:
    """Deterministic Amharic-looking sentences: words of Ethiopic syllables, Ethiopic punctuation."""
    syllables = [chr(c) for c in range(0x1200, 0x1358) if chr(c).isalpha()]
    sentences = []
    for i in range(count):
        words = ["".join(syllables[(i * 7 + w * 13 + s * 29) % len(syllables)] for s in range(2 + (i + w) % 3))
                 for w in range(3 + i % 4)]
        sentences.append(" ".join(words) + ("።" if i % 3 else "፧"))
    return sentences + [SENTENCE]


def amharic_dataset(demo, folder: Path) -> tuple[Path, Path]:
    """The demo's clips relabelled with Ethiopic text (the audio is the demo's synthetic tones)."""
    folder.mkdir(parents=True)
    texts = iter(ethiopic_sentences(200))
    out = []
    for source in (demo.train_csv, demo.eval_csv):
        with open(source, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="|"))
        target = folder / source.name
        with open(target, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="|", lineterminator="\n")
            writer.writerow(["audio_file", "text", "speaker_name"])
            for row in rows:
                writer.writerow([str(source.parent / row["audio_file"]), next(texts), row["speaker_name"]])
        out.append(target)
    return out[0], out[1]


@pytest.fixture(scope="module")
def amharic(demo_run, tmp_path_factory):
    ws = Workspace.at(tmp_path_factory.mktemp("amws"))
    train_csv, eval_csv = amharic_dataset(demo_run.demo, ws.root / "am-data")
    config = demo_config(ws, demo_run.demo).with_changes(
        language="am", train_csv=str(train_csv), eval_csv=str(eval_csv), epochs=1,
        custom_model_path=str(demo_run.run_folder / "checkpoint_200.pth"))
    return ws, config


def run_to_end(ws, config):
    record = start_run(ws, config)
    phase = wait_until_ended(ws, record.run_id, 600)
    state = read_run_state(ws, record.run_id)
    assert phase is RunPhase.FINISHED, state.detail + "\n" + "\n".join(state.last_lines)
    return state


def load_bundle_standalone(ready: Path, tmp: Path) -> dict:
    """ready/ copied elsewhere and loaded into coqui's Xtts in a fresh process, as an inference user would."""
    copy = tmp / "bundle"
    shutil.copytree(ready, copy, ignore=shutil.ignore_patterns("previous"))
    script = f"""
import json, sys
from pathlib import Path
from core.language.normalise import rules_from_json
from core.language.tokenizer_patch import install_text_rules
from TTS.tts.configs.xtts_config import XttsConfig
from TTS.tts.models.xtts import Xtts
ready = Path({str(copy)!r})
install_text_rules(rules_from_json(json.loads((ready / "text_rules.json").read_text())))
config = XttsConfig(); config.load_json(str(ready / "config.json"))
model = Xtts.init_from_config(config)
model.load_checkpoint(config, checkpoint_path=str(ready / "unoptimize_model.pth"), vocab_path=str(ready / "vocab.json"),
                      eval=True, strict=True)
ids = model.tokenizer.encode({SENTENCE!r}, "am")
print(json.dumps({{"ids": ids, "languages": config.languages, "rows": model.gpt.text_embedding.weight.shape[0]}}))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_amharic_trains_with_an_extended_vocabulary_and_its_bundle_loads_standalone(amharic, tmp_path):
    ws, config = amharic
    # The base vocabulary cannot encode the script and has no [am] token: a launch is refused, saying why.
    before = dict(coverage_for_run(config))
    base_coverage = next(iter(before.values()))
    assert base_coverage.char_share < 0.2 and base_coverage.language_token_missing
    with pytest.raises(ConfigInvalid, match=r"has no \[am\] token"):
        preflight(config)
    extension = extend_for_run(ws, config)
    config = config.with_changes(vocab_path=str(extension.out_path))
    after = coverage_for_run(config)[-1][1]
    assert after.char_share >= 0.99 and not after.language_token_missing and not after.unknown_chars
    state = run_to_end(ws, config)
    # Started from the demo's 37-token checkpoint: the text embedding grew to the extended vocabulary.
    assert any(f"to {extension.new_size}" in note for note in state.status.adjustments), state.status.adjustments
    ready = Path(config.output_path) / "ready"
    assert json.loads((ready / "text_rules.json").read_text())["language"] == "am"
    assert (ready / "vocab.json").read_bytes() == extension.out_path.read_bytes()
    loaded = load_bundle_standalone(ready, tmp_path)
    assert "am" in loaded["languages"] and loaded["rows"] == extension.new_size
    assert 1 not in loaded["ids"] and loaded["ids"][0] == extension.language_token_id
    # Its weights keep their vocabulary: a promoted copy gets it beside it, and starting from them with
    # the base vocabulary is refused, naming the one they need.
    best = Path(state.status.trainer_run_folder) / "best_model.pth"
    promoted = promote(best, ws.custom_models_dir / "amharic.pth")
    assert vocab_beside(promoted.target).read_bytes() == extension.out_path.read_bytes()
    with pytest.raises(ConfigInvalid, match=f"was trained with {extension.new_size} \\({extension.out_path}\\)"):
        preflight(config.with_changes(language="en", vocab_path="", custom_model_path=str(promoted.target)))


def test_a_romanised_new_language_records_its_rules_and_applies_them_at_load(amharic, tmp_path):
    ws, config = amharic
    config = config.with_changes(romanize="uroman", output_path=str(ws.root / "outputs" / "romanised"))
    extension = extend_for_run(ws, config)
    # Romanised, the Ethiopic script becomes Latin letters: the extension needs no Ethiopic characters.
    assert not any("\u1200" <= ch <= "\u137f" for token in extension.added_tokens for ch in token)
    state = run_to_end(ws, config.with_changes(vocab_path=str(extension.out_path)))
    record = json.loads((ws.runs_dir / state.run_id / "record.json").read_text())
    assert record["config"]["romanize"] == "uroman"
    ready = Path(config.output_path) / "ready"
    assert json.loads((ready / "text_rules.json").read_text())["romanize"] == "uroman"
    loaded = load_bundle_standalone(ready, tmp_path)
    assert 1 not in loaded["ids"]
