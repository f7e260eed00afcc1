import math

import pytest

from core.base.config import FIELDS, PRESETS, RunConfig, apply_preset, validate_config
from core.base.errors import ConfigInvalid

NUMERIC = [f for f in FIELDS if f.kind in (int, float)]


def field_errors(raw):
    with pytest.raises(ConfigInvalid) as info:
        validate_config(raw)
    return {e.field: e.message for e in info.value.errors}


def test_defaults_match_the_guide():
    config = validate_config({})
    assert (config.save_step, config.save_n_checkpoints, config.save_checkpoints) == (1000, 1, True)
    assert (config.print_step, config.plot_step, config.log_model_step) == (50, 100, 100)
    assert config == RunConfig()


@pytest.mark.parametrize("spec", NUMERIC, ids=lambda s: s.name)
def test_every_range_bound_is_accepted_and_every_value_outside_is_refused(spec):
    assert getattr(validate_config({spec.name: spec.minimum}), spec.name) == spec.minimum
    assert getattr(validate_config({spec.name: spec.maximum}), spec.name) == spec.maximum
    below = spec.minimum - (1 if spec.kind is int else spec.minimum / 10 or 0.1)
    above = spec.maximum + (1 if spec.kind is int else spec.maximum / 10)
    for bad in (below, above):
        message = field_errors({spec.name: bad})[spec.name]
        assert "allowed from" in message


def test_guide_ranges():
    by_name = {f.name: f for f in FIELDS}
    assert (by_name["save_step"].minimum, by_name["save_step"].maximum) == (100, 5000)
    assert (by_name["save_n_checkpoints"].minimum, by_name["save_n_checkpoints"].maximum) == (1, 10)


@pytest.mark.parametrize("bad", [math.nan, math.inf, "abc", "", None, True, [1], 100.5])
def test_non_numbers_name_the_field(bad):
    errors = field_errors({"save_step": bad})
    assert "save_step" in errors and "number" in errors["save_step"]


def test_numeric_strings_are_accepted():
    assert validate_config({"save_step": "200", "learning_rate": "1e-5"}).save_step == 200


def test_unknown_setting_and_bad_choice_are_refused():
    errors = field_errors({"save_stepp": 100, "language": "xx", "save_checkpoints": "maybe"})
    assert set(errors) == {"save_stepp", "language", "save_checkpoints"}


def test_run_name_cannot_escape_the_output_folder():
    assert "run_name" in field_errors({"run_name": "../evil"})
    assert "run_name" in field_errors({"run_name": ""})


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_each_guide_preset(preset):
    config = apply_preset(RunConfig(), preset.name)
    assert (config.save_step, config.save_n_checkpoints) == (preset.save_step, preset.save_n_checkpoints)
    assert validate_config(config.to_dict()) == config


def test_the_four_guide_presets_exist():
    assert {p.name: (p.save_step, p.save_n_checkpoints) for p in PRESETS} == {
        "Fast experimentation": (1000, 1), "Balanced": (500, 3), "Production": (500, 10),
        "Very long training": (2000, 5)}
    with pytest.raises(ConfigInvalid):
        apply_preset(RunConfig(), "Nope")


def test_every_setting_has_a_label_in_words_and_its_key_in_the_help():
    for spec in FIELDS:
        assert spec.label and "_" not in spec.form_label and spec.form_label != spec.name, spec.name
        assert f"`{spec.name}`" in spec.tooltip and spec.help in spec.tooltip
    by_name = {f.name: f for f in FIELDS}
    assert by_name["save_step"].form_label == "Checkpoint save frequency (steps)"
    assert by_name["save_n_checkpoints"].form_label == "Checkpoints kept"
    assert by_name["epochs"].form_label == "Epochs"
    assert "100 to 5,000" in by_name["save_step"].tooltip and "500" in by_name["save_step"].help  # the guide's advice


def test_field_errors_read_as_sentences_with_the_label_and_the_key():
    from core.base.config import field_error_text
    from core.base.errors import FieldError

    errors = field_errors({"save_n_checkpoints": 11})
    text = field_error_text(FieldError("save_n_checkpoints", errors["save_n_checkpoints"]))
    assert text == "Checkpoints kept (save_n_checkpoints) is 11; allowed from 1 to 10."
    assert (field_error_text(FieldError("output_path", "/proc is not writable; choose a folder you can write to"))
            == "Output folder (output_path): /proc is not writable; choose a folder you can write to.")
    assert field_error_text(FieldError("save_stepp", "is not a known setting")) == "save_stepp is not a known setting."
