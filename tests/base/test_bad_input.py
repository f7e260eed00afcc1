"""Bad input for every setting and every path: always a ConfigInvalid naming the field, never a launch.

Generated with hypothesis (more than 1,000 cases in all; no training). Each case goes through
validate_config (raw values from the form) or preflight (paths), and then through start_run,
which must refuse before it writes or spawns anything.

Tests run as root here, and root passes every permission check; "not writable" is therefore
shown with a path under /proc (no files can be created there, even by root) and, where mounting
is allowed, a read-only tmpfs.
"""
from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.base.config import FIELD_BY_NAME, FIELDS, PATH_FIELDS, RunConfig, validate_config
from core.base.errors import ConfigInvalid
from core.runs.launcher import start_run
from core.trainer.preflight import preflight
from core.trainer.demo import demo_config
from core.base.workspace import Workspace

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
NUMERIC = [f for f in FIELDS if f.kind in (int, float)]
BOOLS = [f for f in FIELDS if f.kind is bool]
TEXT = [f for f in FIELDS if f.kind is str]


def parses_as_number(text: str) -> bool:
    try:
        float(text)
    except (ValueError, OverflowError):
        return False
    return True


# --- raw values the form could send ----------------------------------------------------------
def out_of_range(spec) -> st.SearchStrategy:
    if spec.kind is int:
        low = st.integers(max_value=int(spec.minimum) - 1)
        high = st.integers(min_value=int(spec.maximum) + 1)
        return st.one_of(low, high, low.map(str), high.map(str), st.integers(min_value=10**300, max_value=10**400))
    return st.one_of(st.floats(max_value=spec.minimum, exclude_max=True, allow_nan=False),
                     st.floats(min_value=spec.maximum, exclude_min=True, allow_nan=False))


def bad_numbers(spec) -> st.SearchStrategy:
    weird = st.one_of(
        st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.sampled_from(["nan", "inf", "-inf", "1e999"]),
        st.text().filter(lambda s: not parses_as_number(s)),  # non-numeric, empty, unicode
        st.none(), st.booleans(), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    )
    if spec.kind is int:
        whole = st.floats(min_value=spec.minimum, max_value=spec.maximum).filter(lambda v: not float(v).is_integer())
        weird = st.one_of(weird, whole)
    return st.one_of(out_of_range(spec), weird)


def bad_bools() -> st.SearchStrategy:
    accepted = {"true", "false", "1", "0", "on", "off", "yes", "no"}
    return st.one_of(st.text().filter(lambda s: s.strip().lower() not in accepted),
                     st.integers().filter(lambda v: v not in (0, 1)), st.floats(), st.none(), st.lists(st.booleans(), max_size=2))


def bad_text(spec) -> st.SearchStrategy:
    not_text = st.one_of(st.integers(), st.floats(), st.none(), st.booleans(), st.lists(st.text(max_size=3), max_size=2))
    with_nul = st.tuples(st.text(max_size=10), st.text(max_size=10)).map(lambda p: p[0] + "\x00" + p[1])
    options = [not_text, with_nul]
    if spec.choices:
        options.append(st.text().filter(lambda s: s.strip() not in spec.choices))
    if spec.name == "run_name":
        options += [st.text().map(lambda s: s + "/" + s), st.text().map(lambda s: "..\\" + s),
                    st.text(alphabet=" \t\n", max_size=5), st.text().map(lambda s: s + ".." + s)]
    return st.one_of(*options)


def bad_value(spec) -> st.SearchStrategy:
    if spec.kind is bool:
        return bad_bools()
    if spec.kind is str:
        return bad_text(spec)
    return bad_numbers(spec)


BAD_SETTING = st.sampled_from(FIELDS).flatmap(lambda spec: st.tuples(st.just(spec.name), bad_value(spec)))


def refused_fields(call) -> set[str]:
    with pytest.raises(ConfigInvalid) as refused:
        call()
    assert str(refused.value)
    return {e.field for e in refused.value.errors}


@settings(FAST, max_examples=700)
@given(BAD_SETTING)
def test_every_bad_setting_is_refused_naming_its_field(setting):
    name, value = setting
    assert refused_fields(lambda: validate_config({name: value})) == {name}


@settings(FAST, max_examples=100)
@given(st.text(min_size=1).filter(lambda k: k not in FIELD_BY_NAME), st.integers())
def test_unknown_settings_are_refused_by_name(key, value):
    assert key in refused_fields(lambda: validate_config({key: value}))


@settings(FAST, max_examples=60)
@given(st.sampled_from([100, 200, 500, 1000]), st.integers(min_value=1, max_value=10_000_000))
def test_milestones_that_are_not_saved_steps_are_refused(save_step, milestone):
    if milestone % save_step == 0:
        milestone += 1
    fields = refused_fields(lambda: validate_config({"save_step": save_step, "milestone_every_steps": milestone}))
    assert fields == {"milestone_every_steps"}


# --- the same values reaching start_run directly (a RunConfig built in code) -----------------
@dataclass
class Env:
    ws: Workspace
    config: RunConfig  # the demo config, valid, with an output path that does not exist yet
    output: Path
    tmp: Path


@pytest.fixture(scope="module")
def env(tmp_path_factory, demo_workspace) -> Env:
    tmp = tmp_path_factory.mktemp("badinput")
    ws = Workspace.at(tmp / "ws")
    output = tmp / "never-created"
    config = demo_config(ws, demo_workspace[1]).with_changes(output_path=str(output))
    preflight(config)  # the baseline is valid: every refusal below is the bad value's doing
    return Env(ws, config, output, tmp)


def assert_nothing_written(env: Env) -> None:
    assert list(env.ws.runs_dir.iterdir()) == [], "a run folder was written"
    assert not env.output.exists(), "the output path was created"


# Values a RunConfig can hold; others (lists, dicts) cannot come from the form's widgets anyway.
CODE_VALUE = st.sampled_from(FIELDS).flatmap(lambda spec: st.tuples(
    st.just(spec.name), bad_value(spec).filter(lambda v: isinstance(v, (int, float, str, bool, type(None))))))


@settings(FAST, max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
@given(CODE_VALUE)
def test_a_bad_value_in_a_run_config_never_launches(env, setting):
    name, value = setting
    if name in ("train_csv", "eval_csv", "base_model_dir", "output_path") and isinstance(value, str) \
            and "\x00" not in value:
        return  # a text value for a path field is a path: the path tests below cover those
    bad = env.config.with_changes(**{name: value})
    assert name in refused_fields(lambda: start_run(env.ws, bad))
    assert_nothing_written(env)


# --- paths -------------------------------------------------------------------------------------
def try_mount(args: list[str], target: Path) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", *args, str(target)], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def bad_paths(env, demo_workspace) -> dict[str, list[str]]:
    """For each path field, paths that must be refused (built once; hypothesis picks among them)."""
    t, demo = env.tmp, demo_workspace[1]
    folder = t / "a-folder"
    folder.mkdir()
    a_file = t / "a-file.txt"
    a_file.write_text("x")
    (t / "broken-link").symlink_to(t / "nowhere")
    (t / "loop-a").symlink_to(t / "loop-b")
    (t / "loop-b").symlink_to(t / "loop-a")
    (t / "link-to-folder").symlink_to(folder)
    long_name = str(t / ("n" * 300))
    missing = [str(t / "missing"), str(t / "a" / ".." / ".." / "missing-too"), str(t / "ŝöɱé-ünïcødé-名前"), long_name,
               str(t / "broken-link"), str(t / "loop-a"), "relative/missing", "~/definitely-missing-xyz"]
    not_pth = t / "not-a-checkpoint.pth"
    not_pth.write_bytes(b"\x80\x02 this is not a checkpoint" * 20)
    json_pth = t / "json.pth"
    json_pth.write_text('{"model": {}}')
    zip_pth = t / "zip-without-pickle.pth"
    import zipfile

    with zipfile.ZipFile(zip_pth, "w") as zf:
        zf.writestr("archive/version", "3\n")
    wavs = demo.train_csv.parent
    csvs = {}
    for name, text in {
        "wrong-columns": "path,transcript\nwavs/a.wav,hello\n",
        "comma-separated": "audio_file,text,speaker_name\nx.wav,hi,me\n",
        "missing-audio": "audio_file|text|speaker_name\nwavs/gone.wav|hello|me\n",
        "empty-text": f"audio_file|text|speaker_name\n{next(wavs.rglob('*.wav'))}||me\n",
        "header-only": "audio_file|text|speaker_name\n",
        "empty": "",
    }.items():
        csvs[name] = t / f"{name}.csv"
        csvs[name].write_text(text)
    latin1 = t / "latin1.csv"
    latin1.write_bytes("audio_file|text|speaker_name\nx.wav|caf\xe9|me\n".encode("latin-1"))
    csvs["latin1"] = latin1
    bad_base = t / "base-missing-files"
    bad_base.mkdir()
    (bad_base / "config.json").write_text("{not json")
    unwritable = ["/proc/xtts-dashboard-out", "/proc/self/status/out", str(a_file), str(a_file / "sub"), long_name]
    read_only = t / "read-only"
    if try_mount(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"], read_only):
        unwritable += [str(read_only), str(read_only / "new-folder")]
    return {
        "train_csv": [*missing, str(folder), str(t / "link-to-folder"), "", *map(str, csvs.values()), str(not_pth)],
        "eval_csv": [*missing, str(folder), "", *map(str, csvs.values())],
        "base_model_dir": [*missing, str(a_file), "", str(bad_base), str(folder), str(not_pth)],
        "custom_model_path": [*missing, str(folder), str(t / "link-to-folder"), str(not_pth), str(json_pth),
                              str(zip_pth), str(a_file), str(csvs["wrong-columns"])],
        "vocab_path": [*missing, str(folder), str(not_pth), str(a_file), str(json_pth)],
        "output_path": unwritable + [""],
    }


@pytest.fixture(scope="module", autouse=True)
def unmount_read_only(env):
    yield
    subprocess.run(["umount", "-l", str(env.tmp / "read-only")], capture_output=True)


@settings(FAST, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATH_FIELDS), st.data())
def test_every_bad_path_is_refused_naming_its_field_and_never_launches(env, bad_paths, name, data):
    # Fixed bad paths, or a generated unicode name under a missing folder (under a file for output_path).
    parent = Path(bad_paths["output_path"][2] if name == "output_path" else bad_paths[name][0])
    names = st.text(alphabet=st.characters(blacklist_characters="\x00/", blacklist_categories=("Cs",)),
                    min_size=1, max_size=40).map(lambda n: str(parent / n))
    value = data.draw(st.one_of(st.sampled_from(bad_paths[name]), names), label=name)
    bad = env.config.with_changes(**{name: value})
    under_proc = value.startswith("/proc/")
    if not under_proc:
        assert name in refused_fields(lambda: preflight(bad))
    # Under /proc, root passes the access check that preflight can make without writing, and the
    # disk check would refuse first (0 bytes free); with that overridden, creating the folder fails.
    assert name in refused_fields(lambda: start_run(env.ws, bad, disk_override=under_proc))
    assert_nothing_written(env)


@settings(FAST, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["continue", "restore"]), st.data())
def test_bad_resume_points_are_refused(env, bad_paths, mode, data):
    value = data.draw(st.sampled_from(bad_paths["custom_model_path"] + [str(env.tmp / "a-folder"), ""]))
    assert "resume_from" in refused_fields(lambda: start_run(env.ws, env.config, mode=mode, resume_from=value))
    assert_nothing_written(env)


@settings(FAST, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="|\n\r\x00", blacklist_categories=("Cs",)),
                        min_size=1, max_size=12), min_size=1, max_size=4),
       st.lists(st.text(alphabet="abcxyz/._-ü", min_size=1, max_size=12), min_size=1, max_size=5))
def test_csvs_with_wrong_columns_or_missing_audio_name_the_field(env, header, audio_names):
    csv = env.tmp / "generated.csv"
    if {"audio_file", "text", "speaker_name"} <= {h.strip() for h in header}:
        header = ["path", "transcript"]
    csv.write_text("|".join(header) + "\n" + "".join(f"{n}|x|y\n" for n in audio_names), encoding="utf-8")
    assert refused_fields(lambda: preflight(env.config.with_changes(train_csv=str(csv)))) == {"train_csv"}
    missing_audio = env.tmp / "generated-missing.csv"
    missing_audio.write_text("audio_file|text|speaker_name\n" + "".join(
        f"does-not-exist/{n}.wav|some text|me\n" for n in audio_names), encoding="utf-8")
    bad = env.config.with_changes(eval_csv=str(missing_audio))
    assert refused_fields(lambda: start_run(env.ws, bad)) == {"eval_csv"}
    assert_nothing_written(env)


def test_train_page_shows_invalid_input_as_an_error_not_an_exception(page, tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    at = page("pages/train.py", root=ws.root).run()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    at.text_input(key="cfg_output_path").input(str(a_file)).run()
    at.text_input(key="cfg_train_csv").input(str(tmp_path / ("n" * 300))).run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "train_csv" in errors and "output_path" in errors and "Nothing was launched" in errors
    assert list(ws.runs_dir.iterdir()) == []
