"""Hostile scenes sent to a live Runtime: each gets a precise client error within 2 s and
300 MB, compiled off the event loop, while a bystander session streams without underruns."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from cadenza.runtime.errors import (
    ClientError,
    FailedPrecondition,
    NotFound,
    ResourceExhausted,
    SceneError,
)
from cadenza.runtime.scene.limits import SceneLimits
from cadenza.runtime.server import Runtime, RuntimeConfig
from cadenza.runtime.server.compile_worker import CompilePool, compile_off_loop
from cadenza.runtime.server.subscription import Subscription
from cadenza.runtime.session.chunk import Chunk

from ..scene.test_limits import HOSTILE, laughs

PASSWD = """scene: sneaky
prompts:
  leak: {audio: /etc/passwd}
mix: {leak: 1}
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def _started(config: RuntimeConfig | None = None) -> Runtime:
    runtime = Runtime(config or RuntimeConfig(idle_timeout_s=60))
    await runtime.start()
    assert await runtime.compile_pool.warm()  # (a server starts its workers at start too)
    return runtime


def test_billion_laughs_and_deep_nesting_never_stall_a_streaming_bystander():
    """The CI case: hostile inline scenes and checks arrive while a session streams."""

    async def main():
        runtime = await _started()
        try:
            bystander = runtime.create_session(scene="minimal")
            sub = runtime.subscribe(bystander.id)
            received: list[Chunk] = []

            async def listen():
                while True:
                    item = await sub.next()
                    if isinstance(item, Chunk):
                        received.append(item)

            lags: list[float] = []

            async def ticker():  # how late the event loop runs a 10 ms timer
                while True:
                    start = time.perf_counter()
                    await asyncio.sleep(0.01)
                    lags.append(time.perf_counter() - start - 0.01)

            tasks = [asyncio.create_task(listen()), asyncio.create_task(ticker())]
            await asyncio.sleep(1.5)  # past the lookahead burst
            underruns_before = bystander.counters.underruns
            before = rss_mb()
            hostile = [HOSTILE[name][0] for name in (
                "billion laughs", "merge-key laughs", "20,000 nested [", "20,000 nested {",
                "self-referencing alias", "200 nested parentheses", "100-deep ternary",
                "1,000 unary minus", "control character", "U+FFFE", "5,000-digit integer")]
            answers = []
            for text in hostile * 3:
                for call in (runtime.validate_scene_async(text, "hostile.yaml"),
                             runtime.create_session_async(scene_yaml=text)):
                    started = time.perf_counter()
                    try:
                        result = await call
                    except ClientError as exc:
                        result = exc
                    answers.append((time.perf_counter() - started, result))
            await asyncio.sleep(0.5)
            for task in tasks:
                task.cancel()
            growth = rss_mb() - before
            return answers, bystander.counters.underruns - underruns_before, lags, growth, \
                received
        finally:
            await runtime.stop()

    answers, underruns, lags, growth, received = run(main())
    for elapsed, result in answers:
        assert elapsed < 2.0
        if isinstance(result, tuple):  # validate: the issues, no summary
            issues, summary = result
            assert issues and issues[0].line is not None and summary == ""
        else:
            assert isinstance(result, SceneError) and result.issues[0].line is not None
    assert underruns == 0
    assert max(lags) < 0.25, f"event loop stalled {max(lags):.3f} s"
    assert growth < 300
    assert [c.seq for c in received] == list(range(len(received)))


@pytest.mark.parametrize("call", ["create", "validate", "replace"])
def test_an_inline_scene_naming_etc_passwd_is_refused_with_a_field_error(call):
    async def main():
        runtime = await _started()
        try:
            if call == "create":
                with pytest.raises(SceneError) as caught:
                    await runtime.create_session_async(scene_yaml=PASSWD)
                return caught.value.issues, caught.value.field
            if call == "replace":
                session = runtime.create_session(scene="minimal", paused=True)
                with pytest.raises(SceneError) as caught:
                    await runtime.replace_scene_async(session.id, scene_yaml=PASSWD)
                assert session.scene.name == "minimal"
                return caught.value.issues, caught.value.field
            issues, summary = await runtime.validate_scene_async(PASSWD, "sneaky.yaml")
            assert summary == ""
            return issues, issues[0].path
        finally:
            await runtime.stop()

    issues, field = run(main())
    assert field == "prompts.leak.audio"
    assert issues[0].line == 3 and "refused" in issues[0].message
    assert "asset directory" in issues[0].message


def test_audio_inside_the_asset_directory_is_allowed_and_nothing_escapes_it(tmp_path):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "hit.wav").write_bytes(b"RIFF")
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    (assets / "link.wav").symlink_to(tmp_path / "secret.wav")

    def scene(path: str) -> str:
        return f"scene: a\nprompts: {{p: calm}}\nmix: {{p: 1}}\nstingers:\n  s: {{audio: {path}}}\n"

    async def main():
        runtime = await _started(RuntimeConfig(asset_dir=assets))
        try:
            ok, _ = await runtime.validate_scene_async(scene("hit.wav"))
            out = {}
            for path in ("../secret.wav", str(tmp_path / "secret.wav"), "link.wav", "nope.wav"):
                out[path] = (await runtime.validate_scene_async(scene(path)))[0]
            return ok, out
        finally:
            await runtime.stop()

    ok, refused = run(main())
    assert not [i for i in ok if i.severity == "error"]
    for path, issues in refused.items():
        assert issues[0].path == "stingers.s.audio" and "refused" in issues[0].message, path


def test_record_is_refused_without_a_recordings_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def main():
        runtime = await _started()
        try:
            with pytest.raises(FailedPrecondition, match="--record DIR"):
                await runtime.create_session_async(scene="minimal", record=True)
        finally:
            await runtime.stop()

    run(main())
    assert not (tmp_path / "recordings").exists()


def test_request_level_limits_are_client_errors():
    async def main():
        runtime = await _started()
        try:
            with pytest.raises(NotFound):
                await runtime.create_session_async(scene="x" * 300)
            with pytest.raises(NotFound):
                runtime.create_session(scene="x" * 5000)
            with pytest.raises(ResourceExhausted):
                await runtime.validate_scene_async("#" * (64 << 20))
            with pytest.raises(ResourceExhausted):
                await runtime.create_session_async(scene_yaml="scene: " + "é" * 200_000)
            # A 1,000-term mix weight plays.
            text = ("scene: sum\ninputs:\n  x: {type: number, min: 0, max: 1}\n"
                    "prompts: {a: calm}\nmix:\n  a: \"" + " + ".join(["x"] * 1000) + "\"\n")
            session = await runtime.create_session_async(scene_yaml=text, paused=True)
            assert session.scene.name == "sum"
        finally:
            await runtime.stop()

    run(main())


def test_the_worker_boxes_memory_and_time():
    roomy = SceneLimits(max_yaml_nodes=10**9, max_yaml_depth=64)

    async def main():
        pool = CompilePool(workers=1, timeout_s=5.0, memory_mb=64)
        try:
            assert await pool.warm()
            started = time.perf_counter()
            with pytest.raises(ResourceExhausted, match="more than 64 MB"):
                await compile_off_loop(laughs(), limits=roomy, pool=pool)
            memory_s = time.perf_counter() - started
            quick = CompilePool(workers=1, timeout_s=0.01, memory_mb=256)
            assert await quick.warm()
            big = "scene: big\nprompts: {a: calm}\nmix: {a: 1}\nx:\n" + "".join(
                f"  k{i}: [{i}, {i}, {i}]\n" for i in range(4000))
            try:
                with pytest.raises(ResourceExhausted, match=r"longer than 0\.01 s"):
                    await compile_off_loop(big, limits=roomy, pool=quick)
                assert quick.timeouts == 1
            finally:
                quick.close()
            # The pool recovers (the worker survived its MemoryError, or was replaced).
            assert await pool.warm()
            scene = await compile_off_loop("scene: ok\nprompts: {a: calm}\nmix: {a: 1}\n",
                                           pool=pool)
            assert pool.started >= 1 and pool.unboxed == 0
            return memory_s, scene.name
        finally:
            pool.close()

    memory_s, name = run(main())
    assert memory_s < 10 and name == "ok"


def test_resumed_history_never_counts_against_the_slow_client_limit():
    async def main():
        sub = Subscription("s", max_chunks=4)
        import numpy as np

        history = [Chunk("s", i, i * 2400, np.zeros((2400, 2), np.float32), 48_000, {})
                   for i in range(80)]  # 4 s of 50 ms chunks
        sub.replay(history)
        for i in range(80, 83):  # live chunks keep coming while the client drains
            sub.on_chunk(Chunk("s", i, i * 2400, np.zeros((2400, 2), np.float32), 48_000, {}))
        assert sub.closed is None and sub.backlog == 3
        seqs = [(await sub.next()).seq for _ in range(83)]
        assert seqs == list(range(83)) and sub.backlog == 0
        for i in range(83, 88):  # but a client that stops reading live audio is still cut
            sub.on_chunk(Chunk("s", i, i * 2400, np.zeros((2400, 2), np.float32), 48_000, {}))
        assert sub.closed is not None and sub.closed.reason == "dropped"

    run(main())


def test_resume_at_the_oldest_chunk_of_the_history_is_never_too_slow():
    async def main():
        runtime = await _started(RuntimeConfig(max_backlog_s=4.0, history_s=4.0))
        try:
            session = runtime.create_session(scene="minimal")
            first = runtime.subscribe(session.id)
            await asyncio.sleep(5.0)
            runtime.unsubscribe(first)
            oldest = runtime._entry(session.id).history.chunks[0].seq
            dropped = 0
            for _ in range(20):
                sub = runtime.subscribe(session.id, resume_from_seq=oldest)
                await asyncio.sleep(0.06)  # a chunk or so of live audio arrives meanwhile
                dropped += sub.closed is not None
                runtime.unsubscribe(sub)
            return dropped
        finally:
            await runtime.stop()

    assert run(main()) == 0
