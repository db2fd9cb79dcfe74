"""The `cadenza` command as a user runs it (a real subprocess)."""

from __future__ import annotations

import subprocess
import sys

import soundfile

from cadenza import scenes


def cadenza(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cadenza.runtime.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_scene_check_passes_on_every_example():
    files = [str(p) for p in sorted(scenes.DIRECTORY.glob("*.yaml"))]
    result = cadenza("scene", "check", *files, "--engine", "procedural")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("dungeon", "museum", "minimal"):
        assert f"scene '{name}'" in result.stdout
    assert "input   danger: number [0, 1] default 0" in result.stdout
    assert "warning" not in result.stdout


def test_scene_check_reports_errors_with_file_line_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scene: bad\ninputs:\n  danger: {type: number, min: 0, max: 1}\n"
                   "prompts:\n  a: \"dark ambient\"\nmix:\n  a: \"dangr * 2\"\n")
    result = cadenza("scene", "check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:7 mix.a: unknown input 'dangr' (did you mean 'danger'?)" in result.stdout


def test_scene_check_warns_about_words_the_engine_does_not_know(tmp_path):
    odd = tmp_path / "odd.yaml"
    odd.write_text("scene: odd\nprompts:\n  a: \"dark zorblatt ambient\"\nmix:\n  a: 1\n")
    result = cadenza("scene", "check", str(odd), "--engine", "procedural")
    assert result.returncode == 0
    assert "warning: prompt 'a': engine 'procedural' does not know 'zorblatt'" in result.stdout


def test_render_writes_wav_and_blend(tmp_path):
    out = tmp_path / "min.wav"
    result = cadenza("render", "minimal", "--seconds", "3", "--out", str(out), "--seed", "4")
    assert result.returncode == 0, result.stderr
    info = soundfile.info(out)
    assert (info.samplerate, info.channels, info.frames) == (48000, 2, 3 * 48000)
    assert out.with_suffix(".blend.csv").read_text().startswith("time_s,calm,intense")
    assert "calm: 0.0-3.0s" in result.stdout


def test_render_of_a_missing_scene_is_one_clear_line(tmp_path):
    result = cadenza("render", "nope", "--out", str(tmp_path / "x.wav"))
    assert result.returncode == 1
    assert "no scene file 'nope'" in result.stderr and "Traceback" not in result.stderr
