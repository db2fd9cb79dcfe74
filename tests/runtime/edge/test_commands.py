"""Every edge command through the one dispatch, `Runtime.apply` / `apply_async`, on a real
runtime (no sockets); and the console codec's `config` op over the same path."""

from __future__ import annotations

import asyncio
import json

import pytest

from cadenza.runtime.console.api import ConsoleApi
from cadenza.runtime.edge import commands as C
from cadenza.runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from cadenza.runtime.server import Runtime, RuntimeConfig
from cadenza.runtime.server.subscription import Subscription

INLINE = """
scene: inline
inputs:
  mood: {type: number, min: 0, max: 1, default: 0}
prompts:
  a: "soft piano"
mix:
  a: "1"
"""


def run(coro):
    return asyncio.run(coro)


async def with_runtime(body):
    runtime = Runtime(RuntimeConfig(idle_timeout_s=30))
    await runtime.start()
    try:
        return await body(runtime)
    finally:
        await runtime.stop()


def test_every_command_applies():
    async def body(rt: Runtime):
        session = await rt.apply_async(C.Create(scene="dungeon", seed=3, paused=True,
                                                state={"biome": "cave"}))
        sid = session.id
        assert session.inputs["biome"] == "cave" and session.state.value == "created"
        sub = rt.apply(C.Attach(sid, None, "beats"))
        assert isinstance(sub, Subscription) and rt.listeners(sid) == 1
        assert rt.apply(C.Update(sid, {"danger": 0.5})).inputs["danger"] == 0.5
        assert rt.apply(C.SetPrompts(sid, {"dark techno": 1.0})) == {}
        assert session.override == {"dark techno": 1.0}
        result = rt.apply(C.SetConfig(sid, {"bpm": 120, "mode": "quality"}, ()))
        assert result.config == {"bpm": 120.0, "mode": "quality"}
        assert result.unsupported == ("mode",) and result.stream_time == session.applies_at
        assert rt.apply(C.Control(sid, "play")).state.value == "playing"
        assert rt.apply(C.Trigger(sid, "hit")).pending_triggers == ["hit"]
        swapped = await rt.apply_async(C.SwapScene(sid, scene_yaml=INLINE, filename="x.yaml"))
        assert swapped.scene.name == "inline" and swapped.id == sid
        issues, summary = await rt.apply_async(C.Validate(INLINE, "x.yaml"))
        assert not [i for i in issues if i.severity == "error"] and summary
        rt.unsubscribe(sub)
        rt.apply(C.Close(sid))
        with pytest.raises(NotFound):
            rt.get(sid)
        with pytest.raises(NotFound):
            rt.apply(C.Update(sid, {"danger": 1}))

    run(with_runtime(body))


def test_config_override_reaches_the_engine_knobs_and_clears():
    async def body(rt: Runtime):
        session = rt.apply(C.Create(scene="dungeon", seed=1, paused=True))
        scene_knobs = session.next_blend().knobs
        rt.apply(C.SetConfig(session.id, {"bpm": 96, "mute_drums": True, "seed": 11}))
        knobs = session.next_blend().knobs
        assert knobs.bpm == 96.0 and knobs.mute_drums is True
        assert knobs.temperature == scene_knobs.temperature  # the scene keeps the rest
        assert session.seed == 11  # used by the next reset
        with pytest.raises(InvalidArgument) as err:
            rt.apply(C.SetConfig(session.id, {"density": 2}))
        assert err.value.field == "config.density"
        assert session.config_override == {"bpm": 96.0, "mute_drums": True, "seed": 11}
        rt.apply(C.SetConfig(session.id, {}, ("*",)))
        assert session.next_blend().knobs == scene_knobs and session.seed == 1
        rt.apply(C.Control(session.id, "stop"))
        with pytest.raises((NotFound, FailedPrecondition)):
            rt.apply(C.SetConfig(session.id, {"bpm": 90}))

    run(with_runtime(body))


def test_console_config_op():
    async def body(rt: Runtime):
        api = ConsoleApi(rt)
        created = json.loads(await api.handle_async(json.dumps(
            {"id": 1, "op": "create", "scene": "minimal", "paused": True})))
        sid = created["result"]["session_id"]
        assert created["result"]["config"] == {}
        reply = json.loads(api.handle(json.dumps(
            {"id": 2, "op": "config", "session_id": sid, "config": {"brightness": 0.8}})))
        assert reply["ok"] and reply["result"]["config"] == {"brightness": 0.8}
        reply = json.loads(await api.handle_async(json.dumps(
            {"id": 3, "op": "config", "session_id": sid, "config": {"bpm": "fast"}})))
        assert not reply["ok"] and reply["error"]["field"] == "config.bpm"
        reply = json.loads(api.handle(json.dumps(
            {"id": 4, "op": "config", "session_id": sid, "clear": ["brightness"]})))
        assert reply["result"]["config"] == {}
        detail = json.loads(api.handle(json.dumps({"id": 5, "op": "session", "session_id": sid})))
        assert detail["result"]["config"] == {}

    run(with_runtime(body))
