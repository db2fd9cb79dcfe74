"""The router without sockets: a real compiled scene, a fake clock/scheduler, and a target
that records what reached the "session"."""

from __future__ import annotations

import logging

import pytest

from cadenza.runtime.errors import FailedPrecondition
from cadenza.runtime.scene import compile_scene
from cadenza.runtime.sources.binding import Binding, Command, Rejected
from cadenza.runtime.sources.router import InputRouter

SCENE = compile_scene("""
scene: room
inputs:
  visitors: {type: number, min: 0, max: 100, default: 0}
  motion:   {type: bool, default: false}
  mood:     {type: enum, values: [calm, wild], default: calm}
prompts:
  quiet: "calm ambient pads"
  crowd: "energetic drums, bass"
mix:
  quiet: "1 - visitors / 100"
  crowd: "visitors / 100"
""", "room.yaml")

OSC = Binding("visitors", "osc:9000", "/visitors", silence_s=5.0)
MQTT = Binding("visitors", "mqtt:b:1883", "room/visitors", field="count", silence_s=10.0)
MOTION = Binding("motion", "osc:9000", "/motion")
MOOD = Binding("mood", "osc:9000", "/mood", silence_s=1.0)


class Scheduler:
    """A fake event loop clock: timers fire only when the test advances time."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[list] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when, callback, *args):
        entry = [when, callback, args, False]
        self.timers.append(entry)

        class Handle:
            def cancel(self_inner) -> None:
                entry[3] = True

        return Handle()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for entry in sorted(self.timers, key=lambda e: e[0]):
            if entry[0] <= self.now and not entry[3]:
                entry[3] = True
                entry[1](*entry[2])


class Target:
    scene = SCENE

    def __init__(self) -> None:
        self.applied: list[dict] = []
        self.actions: list[str] = []
        self.live = True

    def apply(self, values) -> None:
        if not self.live:
            raise FailedPrecondition("restarting")
        self.applied.append(dict(values))

    def control(self, action: str) -> None:
        self.actions.append(action)


@pytest.fixture
def setup():
    target, clock = Target(), Scheduler()
    return InputRouter(target, [OSC, MQTT, MOTION, MOOD], clock), target, clock


def test_valid_readings_are_coerced_validated_and_applied(setup):
    router, target, _ = setup
    assert router.reading(OSC, 12)
    assert router.reading(MQTT, "30")        # text from a plain MQTT payload
    assert router.reading(MOTION, 1)          # an OSC toggle's 1
    assert router.reading(MOOD, "wild")
    assert target.applied == [{"visitors": 12.0}, {"visitors": 30.0}, {"motion": True},
                              {"mood": "wild"}]
    assert router.stats[MQTT].accepted == 1 and router.stats[MQTT].last_value == 30.0


@pytest.mark.parametrize("binding, value, reason", [
    (OSC, 101, "input 'visitors' must be within [0, 100], got 101"),
    (OSC, float("nan"), "input 'visitors' must be finite"),
    (MQTT, "many", "input 'visitors' is a number, got str 'many'"),
    (MOTION, 0.5, "input 'motion' is a bool, got float 0.5"),
    (MOOD, "wlid", "input 'mood' has no value 'wlid' (values: calm, wild) (did you mean 'wild'?)"),
])
def test_invalid_values_get_the_same_message_as_grpc(setup, caplog, binding, value, reason):
    router, target, _ = setup
    with caplog.at_level(logging.WARNING, "cadenza.sources"):
        assert not router.reading(binding, value)
    assert target.applied == []
    assert router.stats[binding].rejected == 1
    assert reason in router.stats[binding].last_error
    [record] = caplog.records
    assert record.cadenza_fields["source"] == binding.source
    assert record.cadenza_fields["input"] == binding.input
    assert reason in record.cadenza_fields["reason"]


def test_rejections_are_counted_always_but_logged_at_most_once_per_interval(setup, caplog):
    router, _, clock = setup
    with caplog.at_level(logging.WARNING, "cadenza.sources"):
        for _ in range(500):
            router.handle("osc:9000", Rejected("not an OSC packet: 'x'"))
        clock.advance(11)
        router.handle("osc:9000", Rejected("not an OSC packet: 'x'"))
    assert router.sources["osc:9000"].unparsable == 501
    assert len(caplog.records) == 2
    assert caplog.records[1].cadenza_fields["similar_lines_held_back"] == 499
    assert router.totals()["rejected"] == 501


def test_silence_falls_back_to_the_default_once_all_sources_are_quiet(setup):
    router, target, clock = setup
    router.reading(OSC, 50)
    clock.advance(4)
    router.reading(MQTT, 60)   # the MQTT binding's 10 s now governs "visitors"
    clock.advance(6)           # 10 s after OSC, 6 s after MQTT: still held
    assert target.applied[-1] == {"visitors": 60.0}
    clock.advance(4.5)         # 10.5 s after MQTT's last reading
    assert target.applied[-1] == {"visitors": 0}
    assert router.stats[MQTT].fallbacks == 1
    clock.advance(60)          # no repeated fallbacks
    assert target.applied.count({"visitors": 0}) == 1
    router.reading(OSC, 5)     # back to life
    assert target.applied[-1] == {"visitors": 5.0}


def test_input_without_silence_holds_its_value(setup):
    router, target, clock = setup
    router.reading(MOTION, True)
    clock.advance(3600)
    assert target.applied == [{"motion": True}]


def test_readings_during_a_restart_are_replayed_to_the_new_session(setup):
    router, target, clock = setup
    target.live = False
    assert router.reading(OSC, 40)            # valid: kept, though nobody could take it
    router.reading(MOOD, "wild")
    clock.advance(2)                          # MOOD (1 s silence) has fallen back
    target.live = True
    router.replay()
    assert target.applied == [{"visitors": 40.0}]


def test_commands_and_bad_commands(setup):
    router, target, _ = setup
    router.handle("osc:9000", Command("/cadenza/pause", (1,)))
    router.handle("osc:9000", Command("/cadenza/pause", (0,)))   # button release
    router.handle("osc:9000", Command("/cadenza/boom", ()))
    assert target.actions == ["pause"]
    assert router.sources["osc:9000"].commands == 1
    assert router.sources["osc:9000"].unbound == 1


DOORS = compile_scene("""
scene: doors
inputs:
  door_east: {type: number, min: 0, max: 50, default: 0}
  door_west: {type: number, min: 0, max: 50, default: 0}
derived:
  visitors: "door_east + door_west"
prompts:
  quiet: "calm ambient pads"
  crowd: "energetic drums, bass"
mix:
  quiet: "1 - visitors / 100"
  crowd: "visitors / 100"
""", "doors.yaml")


def test_a_dead_counter_drops_out_of_a_sum_of_sensors():
    """Several sensors for one quantity: one input each, summed in `derived`. When one
    counter dies its input falls back alone, so the room hears the living counter only."""
    from cadenza.runtime.scene.evaluator import SceneEvaluator

    east = Binding("door_east", "mqtt:b:1883", "doors/east", silence_s=5.0)
    west = Binding("door_west", "mqtt:b:1883", "doors/west", silence_s=5.0)
    target, clock = Target(), Scheduler()
    target.scene = DOORS
    router = InputRouter(target, [east, west], clock)
    state = DOORS.defaults()

    def crowd() -> float:
        for update in target.applied:
            state.update(update)
        target.applied.clear()
        return SceneEvaluator(DOORS).evaluate(state, 0).weights["crowd"]

    router.reading(east, 30)
    router.reading(west, 20)
    assert crowd() == pytest.approx(0.5)
    for _ in range(3):  # east keeps reporting, west has died
        clock.advance(2.5)
        router.reading(east, 30)
    assert router.stats[west].fallbacks == 1 and router.stats[east].fallbacks == 0
    assert crowd() == pytest.approx(0.3)
