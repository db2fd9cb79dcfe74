"""The Redis schema against a real redis-server: heartbeats expire, scenes are stored once,
a session's lease is claimed exactly once and fenced by its generation."""

from __future__ import annotations

import threading
import time

import pytest

from cadenza.runtime.cluster.store import ClusterStore, Fenced, WorkerInfo, scene_hash


def worker(wid: str, sessions: int = 0) -> WorkerInfo:
    return WorkerInfo(wid, f"127.0.0.1:{5000 + len(wid)}", "", 123, "procedural", 64, sessions,
                      time.time())


def test_workers_are_listed_while_they_beat(store: ClusterStore):
    store.heartbeat(worker("a"))
    store.heartbeat(worker("b", sessions=3))
    assert [(w.id, w.sessions) for w in store.workers()] == [("a", 0), ("b", 3)]
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:  # b keeps beating, a stopped
        store.heartbeat(worker("b", sessions=3))
        if [w.id for w in store.workers()] == ["b"]:
            break
        time.sleep(0.2)
    assert [w.id for w in store.workers()] == ["b"]


def test_a_scene_is_stored_once(store: ClusterStore):
    yaml = "name: x\nprompts: {a: calm}\nmix: [{prompt: a, weight: 1}]\n"
    assert store.put_scene(yaml) == scene_hash(yaml)
    writes = store.writes
    store.put_scene(yaml)
    assert store.writes == writes and store.scene(scene_hash(yaml)) == yaml


def test_a_dead_workers_session_is_claimed_exactly_once(store: ClusterStore):
    first = store.claim("s1", "w1")
    assert first is not None and first.gen == 1
    store.write(first, {"seq": 5}, b"state")
    assert store.claim("s1", "w2") is None  # held
    time.sleep(0.6)  # w1 dies: its lease expires
    results: list = []
    barrier = threading.Barrier(8)

    def race(name: str) -> None:
        barrier.wait()
        results.append(ClusterStore(store.url, store.prefix, lease_ms=500).claim("s1", name))

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(2, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].gen == 2
    meta, snapshot, owner, gen = store.descriptor("s1")
    assert meta == {"seq": 5} and snapshot == b"state" and owner == "w1" and gen == 1


def test_a_paused_worker_cannot_write_after_being_replaced(store: ClusterStore):
    old = store.claim("s2", "slow")
    time.sleep(0.6)  # paused past its lease (GC, SIGSTOP, a lost network)
    new = store.claim("s2", "fast")
    assert new is not None and new.gen == old.gen + 1
    store.write(new, {"seq": 10}, b"new")
    with pytest.raises(Fenced):
        store.write(old, {"seq": 3}, b"old")
    with pytest.raises(Fenced):
        store.renew(old)
    assert store.descriptor("s2")[0] == {"seq": 10}
    assert store.sessions() == [("s2", "fast", new.gen)]
    assert not store.drop(old) and store.drop(new)
    assert store.sessions() == [] and store.descriptor("s2") is None


def test_renewal_keeps_a_lease(store: ClusterStore):
    lease = store.claim("s3", "w")
    for _ in range(4):
        time.sleep(0.2)
        store.renew(lease)
    assert store.claim("s3", "other") is None
    assert store.release(lease) and store.claim("s3", "other") is not None


def test_a_lease_is_stolen_only_from_the_holder_named(store: ClusterStore):
    lease = store.claim("s4", "dead")
    assert store.steal("s4", "thief", "someone:else") is None
    stolen = store.steal("s4", "heir", lease.token)
    assert stolen is not None and stolen.gen == lease.gen + 1
    with pytest.raises(Fenced):
        store.renew(lease)


def test_a_lagging_client_gets_the_previous_descriptor(store: ClusterStore):
    lease = store.claim("s5", "w")
    store.write(lease, {"seq": 40}, b"at 40")
    store.write(lease, {"seq": 80}, b"at 80")
    assert store.descriptor("s5")[:2] == ({"seq": 80}, b"at 80")
    assert store.descriptor("s5", before=85)[:2] == ({"seq": 80}, b"at 80")
    assert store.descriptor("s5", before=60)[:2] == ({"seq": 40}, b"at 40")
    assert store.descriptor("s5", before=10)[:2] == ({"seq": 80}, b"at 80")  # gap: newest
