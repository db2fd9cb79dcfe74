"""proto <-> domain conversions of the gRPC codec, without sockets."""

from __future__ import annotations

import math

import pytest

from cadenza.runtime.edge import commands as C
from cadenza.runtime.edge.views import ClockView, EventView, SessionView
from cadenza.runtime.engines.base import KNOB_NAMES, EngineInfo
from cadenza.runtime.errors import InvalidArgument, SceneIssue
from cadenza.runtime.musictime import BeatClock
from cadenza.runtime.scene import compile_scene
from cadenza.runtime.session import Session
from cadenza.runtime.session.chunk import Chunk, EventKind, SessionEvent
from cadenza.runtime.transports.grpc import convert
from cadenza.v1 import runtime_pb2 as pb

SCENE = """
scene: tiny
inputs:
  danger: {type: number, min: 0, max: 1, default: 0.25}
  biome: {type: enum, values: [cave, forest], default: cave}
prompts:
  calm: "soft piano"
  tense: "dark drums"
mix:
  calm: "1 - danger"
  tense: "danger"
stingers:
  hit: {phrase: "rising hit", play_at: beat}
"""


@pytest.fixture
def session() -> Session:
    return Session("s1", compile_scene(SCENE, "<test>", check_files=False), "procedural", 7,
                   None, 48_000)


def test_values_from_pb_keeps_each_kind_and_names_an_empty_one():
    values = {"a": pb.Value(number=0.5), "b": pb.Value(text="cave"), "c": pb.Value(flag=True)}
    assert convert.values_from_pb(values) == {"a": 0.5, "b": "cave", "c": True}
    with pytest.raises(InvalidArgument) as err:
        convert.values_from_pb({"danger": pb.Value()})
    assert err.value.field == "danger"
    for value in (True, 3, 0.25, "forest"):
        back = convert.values_from_pb({"x": convert.value_to_pb(value)})["x"]
        assert back == value and type(back) is (float if type(value) is int else type(value))


def test_prompts_from_pb_sums_duplicates_and_refuses_non_finite():
    prompts = [pb.WeightedPrompt(text="a", weight=1), pb.WeightedPrompt(text="a", weight=0.5)]
    assert convert.prompts_from_pb(prompts) == {"a": 1.5}
    with pytest.raises(InvalidArgument) as err:
        convert.prompts_from_pb([pb.WeightedPrompt(text="café", weight=math.inf)])
    assert err.value.field == "prompts[café]"


def test_config_round_trips_with_lyria_names():
    config = {"temperature": 1.1, "top_k": 40, "guidance": 4.0, "seed": 5, "bpm": 100.0,
              "density": 0.5, "brightness": 0.25, "scale": "D_MAJOR_B_MINOR",
              "mute_bass": False, "mute_drums": True, "only_bass_and_drums": False,
              "mode": "diversity"}
    msg = convert.config_pb(config)
    assert msg.scale == pb.D_MAJOR_B_MINOR and msg.mode == pb.DIVERSITY
    assert msg.HasField("mute_bass") and not msg.mute_bass  # False is set, not unset
    assert convert.config_from_pb(msg) == config
    assert convert.config_from_pb(pb.GenerationConfig()) == {}
    with pytest.raises(InvalidArgument) as err:
        convert.config_from_pb(pb.GenerationConfig(mode=pb.GENERATION_MODE_UNSPECIFIED))
    assert err.value.field == "config.mode"


def test_stream_messages_decode_to_edge_commands():
    def of(**kw):
        return convert.command_of(pb.ClientMessage(**kw), "s1")

    assert of(state=pb.StateUpdate(values={"danger": pb.Value(number=1)})) == \
        C.Update("s1", {"danger": 1.0})
    assert of(prompts=pb.PromptOverride(prompts=[pb.WeightedPrompt(text="x", weight=2)])) == \
        C.SetPrompts("s1", {"x": 2.0})
    assert of(control=pb.ControlCommand(action=pb.RESET_CONTEXT)) == C.Control("s1", "reset")
    assert of(trigger=pb.StingerTrigger(stinger="hit")) == C.Trigger("s1", "hit")
    config = of(config=pb.GenerationConfigUpdate(config=pb.GenerationConfig(bpm=90),
                                                 clear=["density"]))
    assert config == C.SetConfig("s1", {"bpm": 90.0}, ("density",))
    with pytest.raises(InvalidArgument) as err:
        of(control=pb.ControlCommand(action=pb.ACTION_UNSPECIFIED))
    assert err.value.field == "action"
    with pytest.raises(InvalidArgument) as err:
        of(attach=pb.Attach(session_id="s1"))
    assert err.value.field == "attach"
    with pytest.raises(InvalidArgument):
        of()


def test_session_view_renders_everything(session):
    session.set_config({"bpm": 100, "mode": "quality"})
    view = SessionView.of(session, listeners=2, uptime_s=1.5,
                          engine_knobs=frozenset(KNOB_NAMES))
    info = convert.session_pb(view)
    assert (info.session_id, info.scene, info.engine, info.seed) == ("s1", "tiny", "procedural", 7)
    assert info.state == pb.CREATED and info.sample_rate == 48_000 and info.channels == 2
    assert info.inputs["danger"].number == 0.25 and info.inputs["biome"].text == "cave"
    assert list(info.input_names) == ["danger", "biome"] and list(info.stingers) == ["hit"]
    assert info.listeners == 2 and info.uptime_seconds == 1.5
    assert not info.HasField("clock") and list(info.blend) == []
    assert convert.config_from_pb(info.config) == {"bpm": 100.0, "mode": "quality"}
    assert view.unsupported_knobs == ("mode",)  # procedural honours every knob but mode


def test_chunk_and_clock(session):
    import numpy as np

    clock = BeatClock(at=0, beat=6.5, bpm=120.0, beats_per_bar=3, beat_unit=4)
    chunk = Chunk("s1", 4, 9600, np.zeros((2400, 2), np.float32), 48_000,
                  {"calm": 0.75, "tense": 0.25}, {"calm": "soft piano"}, clock=clock)
    msg = convert.chunk_pb(chunk, "f32le")
    assert msg.encoding == pb.PCM_F32LE and len(msg.pcm) == 2400 * 2 * 4
    assert [(b.name, b.text, b.weight) for b in msg.blend] == \
        [("calm", "soft piano", 0.75), ("tense", "tense", 0.25)]
    assert (msg.clock.beat, msg.clock.bar, msg.clock.beat_in_bar, msg.clock.phase) == \
        (6.5, 2, 0, 0.5)
    assert convert.clock_pb(None) is None
    assert convert.clock_pb(ClockView.of(clock)) == msg.clock


@pytest.mark.parametrize(("kind", "detail", "check"), [
    (EventKind.BEAT, {"beat": 9.0, "bar": 2, "beat_in_bar": 1, "bpm": 120.0,
                      "beats_per_bar": 4, "beat_unit": 4},
     lambda m: m.kind == pb.Event.BEAT and m.clock.beat == 9.0 and m.clock.beat_in_bar == 1),
    (EventKind.STINGER, {"stinger": "hit", "status": "scheduled", "at": 12_000},
     lambda m: m.stinger == "hit" and m.stinger_status == "scheduled" and m.stream_time == 12_000),
    (EventKind.TEMPO, {"heard_bpm": 118.0, "clock_bpm": 120.0},
     lambda m: m.heard_bpm == 118.0 and m.clock.bpm == 120.0 and m.clock.beat_unit == 4),
    (EventKind.STATE_CHANGED, {"state": "paused", "previous": "playing"},
     lambda m: m.state == pb.PAUSED),
    (EventKind.UNDERRUN, {"late_s": 0.25}, lambda m: m.late_seconds == 0.25),
    (EventKind.UNKNOWN_WORDS, {"prompt": "zorp jazz", "words": ["zorp"]},
     lambda m: m.prompt == "zorp jazz" and list(m.words) == ["zorp"]),
    (EventKind.ENDED, {"reason": "idle"}, lambda m: m.message == "idle"),
    (EventKind.BLEND_CHANGED, {"weights": {"a": 1.0}, "prompts": {"a": "x"}},
     lambda m: [(b.name, b.text) for b in m.blend] == [("a", "x")]),
])
def test_events(kind, detail, check):
    event = SessionEvent(kind, "s1", 4800, detail)
    msg = convert.event_pb(event)
    assert msg.session_id == "s1" and check(msg)
    assert convert.event_pb(EventView.of(event)) == msg


def test_engine_info_reports_unsupported_knobs():
    info = EngineInfo("m", "1", 48_000, 2, 1920, 8, 12, frozenset({"text"}),
                      frozenset({"temperature", "seed"}), 0.04)
    msg = convert.engine_pb(info, ["m", "procedural"])
    assert list(msg.knobs) == ["seed", "temperature"]
    assert "bpm" in msg.unsupported_knobs and "temperature" not in msg.unsupported_knobs
    assert list(msg.available_engines) == ["m", "procedural"]


def test_issue():
    msg = convert.issue_pb(SceneIssue("d.yaml", 14, "mix[2].weight", "unknown input", "error", 3))
    assert (msg.file, msg.line, msg.field, msg.column) == ("d.yaml", 14, "mix[2].weight", 3)
    assert msg.text == "d.yaml:14 mix[2].weight: unknown input"
