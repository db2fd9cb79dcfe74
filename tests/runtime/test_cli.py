"""The `cadenza` command as a user runs it (a real subprocess)."""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

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


# ------------------------------------------------------------ friendly command line
def busy_port() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def one_clear_line(result: subprocess.CompletedProcess, *words: str) -> str:
    """Non-zero exit, no traceback, and a last stderr line naming the fix."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in line, line
    return line


def test_a_grpc_port_in_use_is_one_line_naming_the_flag():
    with busy_port() as taken:
        port = str(taken.getsockname()[1])
        result = cadenza("serve", "--grpc-port", port, "--ws-port", "0", "--console-port", "0")
        one_clear_line(result, port, "--grpc-port")
        verbose = cadenza("-v", "serve", "--grpc-port", port, "--ws-port", "0",
                          "--console-port", "0")
        assert verbose.returncode != 0 and "Traceback" in verbose.stderr   # -v: the details


def test_a_websocket_port_in_use_is_one_line_naming_the_flag():
    with busy_port() as taken:
        port = str(taken.getsockname()[1])
        result = cadenza("serve", "--grpc-port", "0", "--ws-port", port, "--console-port", "0")
        one_clear_line(result, port, "--ws-port")


def test_a_missing_token_file_says_how_to_make_one(tmp_path):
    missing = tmp_path / "token"
    result = cadenza("serve", "--token-file", str(missing), "--grpc-port", "0", "--ws-port", "0")
    one_clear_line(result, str(missing), "No such file", "--token")


def test_a_missing_replay_file_says_where_recordings_come_from(tmp_path):
    result = cadenza("replay", str(tmp_path / "gone.cadrec"), "--out", str(tmp_path / "x.wav"))
    one_clear_line(result, "gone.cadrec", "--record DIR")
    diff = cadenza("replay", "--diff", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"))
    one_clear_line(diff, "a.wav")


def test_missing_scene_and_installation_files_are_one_line(tmp_path):
    one_clear_line(cadenza("scene", "check", str(tmp_path / "nope.yaml")))
    assert "no scene file" in cadenza("scene", "check", str(tmp_path / "nope.yaml")).stdout
    result = cadenza("run", str(tmp_path / "gallery.yaml"))
    one_clear_line(result, "gallery.yaml", "cannot read")


def test_a_closed_pipe_is_not_a_traceback():
    """`cadenza scene check ... | head`: the reader is gone before we write."""
    read, write = os.pipe()
    os.close(read)
    files = [str(p) for p in sorted(scenes.DIRECTORY.glob("*.yaml"))]
    try:
        process = subprocess.run([sys.executable, "-m", "cadenza.runtime.cli", "scene", "check",
                                  *files], stdout=write, stderr=subprocess.PIPE, text=True,
                                 timeout=120)
    finally:
        os.close(write)
    assert process.returncode == 141, process.stderr
    assert "Traceback" not in process.stderr and "BrokenPipe" not in process.stderr


def test_models_without_the_magenta_extra_prints_the_install_line(tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()   # stands in for an environment where huggingface_hub is not installed
    (shim / "huggingface_hub.py").write_text("raise ImportError(\"No module named 'huggingface_hub'\")\n")
    env = {**os.environ, "PYTHONPATH": f"{shim}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "cadenza.runtime.cli", "models", "list"],
                            capture_output=True, text=True, timeout=120, env=env)
    one_clear_line(result, "pip install 'cadenza[magenta]'")


def test_huggingface_hub_and_flax_live_in_the_magenta_extra():
    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    core = " ".join(project["project"]["dependencies"])
    magenta = " ".join(project["project"]["optional-dependencies"]["magenta"])
    assert "huggingface" not in core and "flax" not in core
    assert "huggingface_hub" in magenta and "flax" in magenta


# Subcommands registered by other modules, whose flags their owners document.
ELSEWHERE = ("cadenza models", "cadenza cluster")


def test_every_flag_has_help_defaults_and_every_command_a_description():
    from cadenza.runtime.cli import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser) -> None:
        if not parser.description:
            missing.append(f"{parser.prog}: no description")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    walk(child)
            elif not action.help and not parser.prog.startswith(ELSEWHERE):
                missing.append(f"{parser.prog} {action.option_strings or action.dest}: no help")

    walk(build_parser())
    assert not missing, missing
    serve = " ".join(cadenza("serve", "--help").stdout.split())   # unwrapped
    assert "Serve sessions over gRPC and WebSocket" in serve
    for text in ("gRPC port", "(default: 50051)", "(default: 8765)", "(default: auto)",
                 "examples:", "cadenza serve --host 0.0.0.0 --token-file"):
        assert text in serve, text
    render = " ".join(cadenza("render", "--help").stdout.split())
    assert "the whole timeline plus" in render and "examples:" in render
    assert "examples:" in cadenza("--help").stdout


def test_render_renders_the_whole_timeline_by_default(tmp_path):
    timeline = tmp_path / "t.yaml"
    timeline.write_text("- at: 0s\n  set: {intensity: 0.1}\n- at: 2s\n  set: {intensity: 0.9}\n")
    out = tmp_path / "t.wav"
    result = cadenza("render", "minimal", "--timeline", str(timeline), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert soundfile.info(out).frames == 12 * 48000        # 2 s timeline + 10 s tail


def test_devices_without_a_sound_card_is_one_line():
    result = cadenza("devices")
    if result.returncode == 0:                               # a machine with outputs
        assert ":" in result.stdout
        tone = cadenza("devices", "--test-tone", "--seconds", "0.3")
        assert tone.returncode == 0, tone.stderr
        assert "playing a 440 Hz tone on" in tone.stdout
    else:
        one_clear_line(result, "cadenza devices:")
    missing = cadenza("devices", "--test-tone", "no such card 4321", "--seconds", "0.1")
    one_clear_line(missing, "cadenza devices:")


def test_blend_csv_has_inputs_knobs_and_stingers_and_render_prints_stingers(tmp_path):
    timeline = tmp_path / "t.yaml"
    timeline.write_text("- at: 0s\n  set: {danger: 0.2}\n- at: 3s\n  trigger: hit\n"
                        "- at: 4s\n  set: {danger: 0.9}\n")
    out = tmp_path / "d.wav"
    result = cadenza("render", "dungeon", "--timeline", str(timeline), "--out", str(out),
                     "--seconds", "6", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert "stinger hit: scheduled at 3." in result.stdout
    rows = list(csv.DictReader(out.with_suffix(".blend.csv").open()))
    assert {"in:danger", "in:in_combat", "knob:temperature", "stingers"} <= set(rows[0])
    assert rows[0]["in:danger"] == "0.2000" and rows[-1]["in:danger"] == "0.9000"
    assert rows[-1]["in:in_combat"] == "true"
    [fired] = [r for r in rows if r["stingers"]]
    assert fired["stingers"] == "hit" and 3.0 <= float(fired["time_s"]) < 3.1


def test_band_cache_size_reaches_the_procedural_engine_and_a_bad_one_is_refused(monkeypatch):
    from cadenza.runtime import cli, engines
    from cadenza.runtime.engines.procedural import engine as procedural

    assert (cli.NOTE_CACHE_MB, cli.MAX_NOTE_CACHE_MB) == (procedural.NOTE_CACHE_MB,
                                                          procedural.MAX_NOTE_CACHE_MB)
    monkeypatch.setattr(engines, "_OPTIONS", {})
    args = cli.build_parser().parse_args(["serve", "--band-cache-mb", "512"])
    cli._engine_model(args)
    engine = engines.create_engine("procedural")
    assert engine.synth.limit == 512 << 20
    for bad in ("0", "lots", str(1 << 17)):
        result = cadenza("serve", "--band-cache-mb", bad, "--grpc-port", "0")
        assert result.returncode == 2 and "--band-cache-mb" in result.stderr
        assert "Traceback" not in result.stderr


def test_band_chunk_length_reaches_the_procedural_engine_and_a_bad_one_is_refused(monkeypatch):
    from cadenza.runtime import cli, engines
    from cadenza.runtime.engines.procedural import engine as procedural

    assert cli.BAND_BLOCK_MS * 48 == procedural.BLOCK_FRAMES  # 48 samples a millisecond
    assert cli.MAX_CHUNK_BLOCKS == procedural.MAX_CHUNK_BLOCKS
    monkeypatch.setattr(engines, "_OPTIONS", {})
    args = cli.build_parser().parse_args(["serve", "--band-chunk-ms", "200"])
    cli._engine_model(args)
    engine = engines.create_engine("procedural")
    assert engine.info.block_frames == 4 * procedural.BLOCK_FRAMES
    assert engine.block_frames == procedural.BLOCK_FRAMES  # the band's own step is unchanged
    for bad in ("0", "75", "1050", "soon"):
        result = cadenza("serve", "--band-chunk-ms", bad, "--grpc-port", "0")
        assert result.returncode == 2 and "--band-chunk-ms" in result.stderr
        assert "Traceback" not in result.stderr
