"""The scene compiler: every example compiles; every mistake is reported precisely."""

from __future__ import annotations

import textwrap

import pytest

from cadenza.runtime.errors import SceneError
from cadenza.runtime.scene import compile_scene, load_scene

GOOD = textwrap.dedent("""\
    scene: test
    inputs:
      danger: {type: number, min: 0, max: 1, default: 0}
      biome: {type: enum, values: [town, cave], default: town}
      alive: {type: bool, default: true}
    derived:
      in_combat: {enter: "danger > 0.7", exit: "danger < 0.5"}
    prompts:
      calm: "calm piano"
      fight: "fast drums"
    mix:
      - prompt: calm
        weight: "1 - danger"
      - prompt: fight
        when: "in_combat"
        weight: 1
    transitions:
      default: 2s
    knobs:
      temperature: 1.1
""")


def test_examples_compile(scenes_dir):
    files = sorted(scenes_dir.glob("*.yaml"))
    assert len(files) >= 3
    for file in files:
        scene = load_scene(file)
        assert scene.prompts and scene.inputs and not scene.warnings


def test_good_scene_compiles():
    scene = compile_scene(GOOD, "test.yaml")
    assert list(scene.inputs) == ["danger", "biome", "alive"]
    assert [t.prompt for t in scene.mix] == ["calm", "fight"]


def errors_of(text: str) -> list[str]:
    with pytest.raises(SceneError) as info:
        compile_scene(text, "scenes/test.yaml")
    return [str(issue) for issue in info.value.issues]


# (mistake, replace this, with that, the one error expected: "line field: text")
MISTAKES = [
    ("unknown input in an expression", '"1 - danger"', '"1 - dangr"',
     "scenes/test.yaml:13 mix[0].weight: unknown input 'dangr' (did you mean 'danger'?)"),
    ("misspelt enum value", "biome: {type: enum, values: [town, cave], default: town}",
     "biome: {type: enum, values: [town, cave], default: towm}",
     "scenes/test.yaml:4 inputs.biome.default: default 'towm' is not one of ['town', 'cave'] "
     "(did you mean 'town'?)"),
    ("unknown input type", "alive: {type: bool, default: true}", "alive: {type: boolean}",
     "scenes/test.yaml:5 inputs.alive.type: input 'alive' has unknown type 'boolean' (did you "
     "mean 'bool'?); types: number, enum, bool"),
    ("min above max", "min: 0, max: 1, default: 0}", "min: 2, max: 1, default: 0}",
     "scenes/test.yaml:3 inputs.danger.max: max (1) must be greater than min (2)"),
    ("default out of range", "min: 0, max: 1, default: 0}", "min: 0, max: 1, default: 3}",
     "scenes/test.yaml:3 inputs.danger.default: default must be a number within [0, 1], got 3"),
    ("unknown mix prompt", "  - prompt: fight", "  - prompt: figth",
     "scenes/test.yaml:14 mix[1].prompt: unknown prompt 'figth' (did you mean 'fight'?)"),
    ("expression syntax", '"1 - danger"', '"1 - (danger"',
     "scenes/test.yaml:13 mix[0].weight: expected ')' but found the end of the expression"),
    ("unknown function", '"1 - danger"', '"clamb(danger, 0, 1)"',
     "scenes/test.yaml:13 mix[0].weight: unknown function 'clamb' (did you mean 'clamp'?); "
     "functions are min, max, abs, clamp, lerp, smoothstep, curve"),
    ("wrong argument count", '"1 - danger"', '"lerp(0, danger)"',
     "scenes/test.yaml:13 mix[0].weight: lerp() takes 3 arguments, got 2"),
    ("bool where a number is needed", '"1 - danger"', '"1 - in_combat"',
     "scenes/test.yaml:13 mix[0].weight: the right side of '-' must be a number, got bool"),
    ("number condition", 'when: "in_combat"', 'when: "danger"',
     "scenes/test.yaml:15 mix[1].when: must be a bool expression, but 'danger' is a number"),
    ("enum compared with an unknown value", 'when: "in_combat"', "when: \"biome == 'cvae'\"",
     "scenes/test.yaml:15 mix[1].when: 'cvae' is not a value of enum biome (values: town, cave) "
     "(did you mean 'cave'?)"),
    ("bad duration", "default: 2s", "default: 2 parsecs",
     "scenes/test.yaml:18 transitions.default: expected a duration such as 2s, 250ms, 4 beats "
     "or 1 bar, got '2 parsecs'"),
    ("knob out of range", "temperature: 1.1", "temperature: 9",
     "scenes/test.yaml:20 knobs.temperature: temperature must be within [0, 3], got 9"),
    ("unknown knob", "temperature: 1.1", "temprature: 1.1",
     "scenes/test.yaml:20 knobs.temprature: unknown key 'temprature' (did you mean "
     "'temperature'?); allowed: temperature, top_k, guidance, bpm, density, brightness, scale, "
     "mute_bass, mute_drums, only_bass_and_drums, seed, conditioning"),
    ("unknown top-level key", "transitions:", "transitons:",
     "scenes/test.yaml:17 transitons: unknown key 'transitons' (did you mean 'transitions'?); "
     "allowed: scene, description, engine, time, inputs, derived, prompts, mix, transitions, "
     "stingers, knobs"),
    ("latch without exit", '{enter: "danger > 0.7", exit: "danger < 0.5"}', '{enter: "danger > 0.7"}',
     "scenes/test.yaml:7 derived.in_combat: a hysteresis latch needs both 'enter' and 'exit' "
     "(missing 'exit')"),
    ("duplicate key", '  fight: "fast drums"', '  fight: "fast drums"\n  calm: "again"',
     "scenes/test.yaml:11 prompts.calm: duplicate key 'calm' (the later one would silently win)"),
    ("empty prompt", '  calm: "calm piano"', '  calm: ""',
     "scenes/test.yaml:9 prompts.calm: prompt 'calm' needs some text, e.g. \"dark ambient drones\""),
    ("curve points out of order", '"1 - danger"', '"curve(danger, [0, 1], [0.5, 0.2], [0.4, 0])"',
     "scenes/test.yaml:13 mix[0].weight: curve points must have strictly increasing x "
     "(0.4 follows 0.5)"),
    ("seed not a whole number", "temperature: 1.1", "seed: -3",
     "scenes/test.yaml:20 knobs.seed: seed must be a whole number >= 0, got -3"),
    ("transition on an unknown condition", "default: 2s", "enter in_combt: 1s",
     "scenes/test.yaml:18 transitions.enter in_combt: unknown input 'in_combt' (did you mean "
     "'in_combat'?)"),
    ("missing scene name", "scene: test\n", "",
     "scenes/test.yaml:1 every scene needs a name: 'scene: my_scene'"),
    ("name reserved by the language", "alive: {type: bool", "clamp: {type: bool",
     "scenes/test.yaml:5 inputs.clamp: input name 'clamp' is reserved by the expression language"),
]


@pytest.mark.parametrize("mistake,old,new,expected", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_gets_file_line_and_field(mistake, old, new, expected):
    assert old in GOOD, mistake
    assert errors_of(GOOD.replace(old, new, 1)) == [expected]


def test_at_least_fifteen_distinct_mistakes_are_covered():
    assert len({m[0] for m in MISTAKES}) >= 15


def test_yaml_syntax_error_has_a_line():
    [error] = errors_of(GOOD.replace("  calm: \"calm piano\"", "  calm: \"calm piano"))
    assert error.startswith("scenes/test.yaml:") and "YAML syntax error" in error


def test_every_error_is_reported_at_once():
    broken = GOOD.replace('"1 - danger"', '"1 - dangr"').replace("temperature: 1.1", "temperature: 9")
    assert len(errors_of(broken)) == 2


def test_a_broken_input_does_not_cascade():
    broken = GOOD.replace("biome: {type: enum, values: [town, cave], default: town}",
                          "biome: {type: enumm}").replace('when: "in_combat"',
                                                          "when: \"biome == 'cave'\"")
    assert len(errors_of(broken)) == 1


def test_yaml_is_loaded_safely():
    [error] = errors_of(GOOD + "evil: !!python/object/apply:os.system ['echo pwned']\n")
    assert error == "scenes/test.yaml:21 YAML syntax error: unsupported tag " \
                    "'tag:yaml.org,2002:python/object/apply:os.system'"


def test_not_a_scene_at_all():
    assert errors_of("- just\n- a list\n") == ["scenes/test.yaml:1 a scene must be a mapping, got a list"]
    assert errors_of("") == ["scenes/test.yaml:1 scene is empty: expected a mapping with at least "
                             "'scene' and 'prompts'"]


def test_audio_prompts_resolve_next_to_the_scene(tmp_path):
    (tmp_path / "ref.wav").write_bytes(b"RIFF")
    text = GOOD.replace('  calm: "calm piano"', "  calm: {audio: ref.wav}")
    scene = compile_scene(text, str(tmp_path / "s.yaml"), base_dir=tmp_path)
    assert scene.prompts["calm"].audio == str(tmp_path / "ref.wav")
    missing = GOOD.replace('  calm: "calm piano"', "  calm: {audio: nope.wav}")
    with pytest.raises(SceneError) as info:
        compile_scene(missing, "s.yaml", base_dir=tmp_path)
    assert "audio prompt file not found" in str(info.value)


def test_unmixed_prompt_is_a_warning():
    scene = compile_scene(GOOD.replace('  fight: "fast drums"', '  fight: "fast drums"\n  spare: "x"'),
                          "t.yaml")
    assert [str(w) for w in scene.warnings] == [
        "t.yaml:11 prompts.spare: warning: prompt 'spare' is never mixed (weight always 0)"]
