"""Hostile scenes: every case of issue 15 gets a precise, line-numbered error, quickly and
in bounded memory (the compiler is the one validation point for every scene)."""

from __future__ import annotations

import resource
import time

import pytest

from cadenza.runtime.errors import SceneError
from cadenza.runtime.scene import compile_scene
from cadenza.runtime.scene.limits import SceneLimits
from cadenza.runtime.server.library import SceneLibrary
from cadenza.runtime.timeline import parse_timeline

BASE = """scene: hostile
inputs:
  x: {type: number, min: 0, max: 1}
  biome: {type: enum, values: [cave, forest]}
prompts:
  a: calm strings
  b: dark drones
mix:
  a: WEIGHT
  b: 1
"""


def laughs(levels: int = 9, fan: int = 9) -> str:
    """The classic "billion laughs": each alias level multiplies the values by ``fan``."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * fan) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]")
    return "scene: lol\n" + "\n".join(lines) + "\nprompts: {a: x}\nmix: {a: 1}\n"


def merge_laughs(levels: int = 40) -> str:
    lines = ["m0: &m0 {k: 1}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}")
    return "scene: lol\n" + "\n".join(lines) + "\nprompts: {a: x}\nmix: {a: 1}\n"


def weight(expr: str) -> str:
    return BASE.replace("WEIGHT", f'"{expr}"')


HOSTILE = {
    # name: (text, expected line, text the message contains)
    "billion laughs": (laughs(), None, "expands to more than 20000 values"),
    "merge-key laughs": (merge_laughs(), None, "expands to more than 20000 values"),
    "20,000 nested [": ("scene: x\nprompts: " + "[" * 20_000 + "]" * 20_000, 2,
                        "nested more than 32 levels"),
    "20,000 nested {": ("scene: x\nprompts: " + "{a: " * 20_000 + "1" + "}" * 20_000, 2,
                        "nested more than 32 levels"),
    "self-referencing alias": ("scene: x\nprompts: &p [*p]\nmix: {a: 1}\n", 2,
                               "self-referencing alias"),
    "200 nested parentheses": (weight("(" * 200 + "x" + ")" * 200), 9, "nested more than 32"),
    "100-deep ternary": (weight("x if x > 0 else " * 100 + "x"), 9, "nested more than 32"),
    "1,000 unary minus": (weight("-" * 1000 + "x"), 9, "nested more than 32"),
    "500 nots": (weight("1 if " + "not " * 500 + "x > 0 else 0"), 9, "nested more than 32"),
    "10,000-term sum": (weight(" + ".join(["x"] * 5000)), 9, "more than the limit of 4096"),
    "control character": ("scene: a\x01b\nprompts: {a: x}\n", 1, "#x0001 is not allowed"),
    "U+FFFE": ("scene: x\nprompts:\n  a: \ufffe\n", 3, "#xfffe is not allowed"),
    "5,000-digit integer": ("scene: x\nprompts: {a: x}\nmix: {a: 1}\nknobs:\n  seed: "
                            + "9" * 5000 + "\n", 5, "5000 digits"),
    "400-digit literal in an expression": (weight("x * " + "9" * 400), 9, "more than 40 digits"),
    "NaN knob": (BASE.replace("WEIGHT", "1") + "knobs:\n  density: .nan\n", 12,
                 "must be a finite number"),
    "inf weight": (BASE.replace("WEIGHT", ".inf"), 9, "must be a finite number"),
    "inf inside curve()": (weight("curve(x, [0, 0], [1, " + " * ".join(["9" * 39] * 9) + "])"),
                           9, "not a finite number"),
    "folded overflow": (weight("x + " + " * ".join(["9" * 39] * 9)), 9, "not a finite number"),
    "long prompt name": ("scene: x\nprompts:\n  " + "p" * 300 + ": calm\nmix: {a: 1}\n", 3,
                         "longer than 64"),
    "long scene name": ("scene: " + "s" * 300 + "\nprompts: {a: x}\nmix: {a: 1}\n", 1,
                        "longer than 128"),
    "too many prompts": ("scene: x\nprompts:\n" + "".join(f"  p{i}: calm\n" for i in range(65))
                         + "mix: {p0: 1}\n", 2, "more than 64 prompts"),
    "escape beyond Unicode (found by fuzzing)": ('scene: "\\U7fffffff"\n', 1,
                                                 "cannot read this document"),
    "64 MB scene": ("scene: x\n# " + "x" * (64 << 20) + "\n", None, "over the limit"),
    "quoted enter condition": (BASE.replace("WEIGHT", "1")
                               + "transitions:\n  enter \"biome == 'cave'\": 6s\n", 12,
                               "without the outer quotes, e.g. enter biome == 'cave'"),
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_scene_gets_a_precise_error_fast(case):
    text, line, message = HOSTILE[case]
    before = _rss_mb()
    started = time.perf_counter()
    with pytest.raises(SceneError) as caught:
        compile_scene(text, "hostile.yaml")
    elapsed = time.perf_counter() - started
    issue = caught.value.issues[0]
    assert message in issue.message, str(caught.value)
    assert issue.file == "hostile.yaml"
    if line is not None:
        assert issue.line == line, str(caught.value)
    assert elapsed < 2.0, f"{case}: {elapsed:.2f} s"
    # Peak RSS of the test process: the 64 MB text itself is the case's own input.
    budget = 300 + (128 if case == "64 MB scene" else 0)
    assert _rss_mb() - before < budget


def test_field_paths_name_the_culprit():
    with pytest.raises(SceneError) as caught:
        compile_scene(weight("(" * 40 + "x" + ")" * 40), "s.yaml")
    assert caught.value.issues[0].path == "mix.a"
    assert str(caught.value).startswith("s.yaml:9 mix.a: expression nested")


def test_a_thousand_term_weight_compiles_and_evaluates_without_recursion():
    from cadenza.runtime.scene import SceneEvaluator

    scene = compile_scene(weight(" + ".join(["x"] * 1000)))
    blend = SceneEvaluator(scene).evaluate({"x": 0.5}, 0)
    assert blend.weights["a"] == pytest.approx(500 / 501)
    chain = compile_scene(weight(" and ".join(["x > 0.1"] * 600) + " and true").replace(
        "a: \"", "a: {when: \"").replace(" and true\"", " and true\", weight: 1}"))
    assert SceneEvaluator(chain).evaluate({"x": 0.5}, 0).weights["a"] == pytest.approx(0.5)


def test_merge_keys_still_work_and_explicit_keys_win():
    scene = compile_scene("""scene: merged
inputs:
  base: &n {type: number, min: 0, max: 1}
  other: {<<: *n, max: 2, default: 2}
prompts: {a: calm}
mix: {a: other}
""")
    assert scene.inputs["other"].max == 2 and scene.inputs["other"].min == 0


def test_limits_are_configurable():
    tight = SceneLimits(max_prompts=1)
    with pytest.raises(SceneError, match="more than 1 prompts"):
        compile_scene(BASE.replace("WEIGHT", "1"), limits=tight)
    roomy = SceneLimits(max_expr_depth=60)
    compile_scene(weight("(" * 55 + "x" + ")" * 55), limits=roomy)
    with pytest.raises(ValueError):
        SceneLimits(max_bytes=0)
    with pytest.raises(ValueError, match="at most 64"):
        SceneLimits(max_expr_depth=300)


def test_timeline_is_bounded_too():
    with pytest.raises(SceneError, match="over the limit of 3"):
        parse_timeline("- {at: 1s}\n" * 4, "t.yaml", SceneLimits(max_timeline_events=3))
    with pytest.raises(SceneError, match="nested more than"):
        parse_timeline("- at: 1s\n  set: " + "[" * 5000 + "]" * 5000, "t.yaml")


@pytest.mark.parametrize("name", ["s" * 300, "a\x00b", "../etc/passwd", "é" * 200, ""])
def test_hostile_scene_names_are_not_found(tmp_path, name):
    from cadenza.runtime.errors import NotFound

    library = SceneLibrary(tmp_path)
    with pytest.raises(NotFound) as caught:
        library.get(name)
    assert len(str(caught.value)) < 300  # never echoes the whole name


def test_a_huge_scene_file_is_refused_before_it_is_read(tmp_path):
    from cadenza.runtime.scene import load_scene

    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.truncate(64 << 20)  # sparse: 64 MB without writing them
    started = time.perf_counter()
    with pytest.raises(SceneError, match="over the limit"):
        load_scene(path)
    assert time.perf_counter() - started < 0.5


def test_scene_check_of_a_billion_laughs_file_is_one_error_line(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "lol.yaml"
    path.write_text(laughs())
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "cadenza.runtime.cli", "scene", "check",
                             str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"{path}:" in result.stdout and "expands to more than 20000 values" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert time.perf_counter() - started < 30  # mostly interpreter start-up on a busy VM
