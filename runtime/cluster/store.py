"""The cluster's shared state in Redis: workers, scenes, session descriptors and leases.

Keys (all under ``prefix``, default ``cadenza:``)::

    workers                 set of worker ids
    worker:{id}             hash: address, pid, engine, model, capacity, load, sessions,
                            started; expires ``ttl_s`` after the last heartbeat
    scene:{sha256}          the scene YAML, stored once however many sessions use it
    sessions                set of session ids with a descriptor
    session:{id}            hash: meta (JSON), snapshot (engine bytes), owner, gen
    lease:{id}              "{worker}:{gen}", expires ``lease_ms`` after the last renewal
    gen:{id}                the session's generation counter (INCR on every claim)

A session's lease is claimed with a fresh generation number (Lua, atomic); a worker may
write the descriptor or renew only while the lease still names it *and* its generation,
so a worker that was paused (not dead) past its lease cannot write after being replaced:
it learns it was fenced and drops the session. A dead worker's sessions are claimed
exactly once: the first claim after the lease expired wins, every other one sees a live
lease and gets None.

Blocking redis-py calls: use from worker threads, never from the event loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

import redis

_CLAIM = """
local lease = redis.call('GET', KEYS[1])
if lease then return nil end
local gen = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. gen, 'PX', ARGV[2])
return gen
"""
_STEAL = """
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return nil end
local gen = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. gen, 'PX', ARGV[3])
return gen
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""
_WRITE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local meta = redis.call('HGET', KEYS[2], 'meta')
if meta then
  redis.call('HSET', KEYS[2], 'prev_meta', meta,
             'prev_snapshot', redis.call('HGET', KEYS[2], 'snapshot'))
end
redis.call('HSET', KEYS[2], 'meta', ARGV[2], 'snapshot', ARGV[3], 'owner', ARGV[4], 'gen', ARGV[5])
redis.call('SADD', KEYS[3], ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""
_DROP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2]) redis.call('SREM', KEYS[3], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    address: str  # host:port of its gRPC listener
    ws_address: str
    pid: int
    engine: str
    capacity: int
    sessions: int
    started: float

    def as_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Lease:
    session_id: str
    worker: str
    gen: int

    @property
    def token(self) -> str:
        return f"{self.worker}:{self.gen}"


class Fenced(Exception):
    """This worker's lease on a session was taken over: it must stop playing it."""


def scene_hash(yaml_text: str) -> str:
    return hashlib.sha256(yaml_text.encode()).hexdigest()


class ClusterStore:
    def __init__(self, url: str, prefix: str = "cadenza:", ttl_s: float = 3.0,
                 lease_ms: int = 2000) -> None:
        self.url = url
        self.redis = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.lease_ms = lease_ms
        self._claim = self.redis.register_script(_CLAIM)
        self._renew = self.redis.register_script(_RENEW)
        self._steal = self.redis.register_script(_STEAL)
        self._write = self.redis.register_script(_WRITE)
        self._release = self.redis.register_script(_RELEASE)
        self._drop = self.redis.register_script(_DROP)
        self.writes = 0  # Redis round trips that wrote, for the benchmark
        self.bytes_written = 0

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def ping(self) -> None:
        self.redis.ping()

    # ------------------------------------------------------------------- workers
    def heartbeat(self, worker: WorkerInfo) -> None:
        key = self.key("worker", worker.id)
        pipe = self.redis.pipeline()
        pipe.sadd(self.key("workers"), worker.id)
        pipe.hset(key, mapping={k: str(v) for k, v in worker.as_json().items()})
        pipe.pexpire(key, int(self.ttl_s * 1000))
        pipe.execute()
        self.writes += 1

    def remove_worker(self, worker_id: str) -> None:
        self.redis.delete(self.key("worker", worker_id))
        self.redis.srem(self.key("workers"), worker_id)

    def workers(self) -> list[WorkerInfo]:
        """Live workers (heartbeat within the TTL); forgets expired ones."""
        out = []
        for raw in sorted(self.redis.smembers(self.key("workers"))):
            wid = raw.decode()
            data = self.redis.hgetall(self.key("worker", wid))
            if not data:
                self.redis.srem(self.key("workers"), wid)
                continue
            d = {k.decode(): v.decode() for k, v in data.items()}
            out.append(WorkerInfo(d["id"], d["address"], d.get("ws_address", ""), int(d["pid"]),
                                  d["engine"], int(d["capacity"]), int(d["sessions"]),
                                  float(d["started"])))
        return out

    # -------------------------------------------------------------------- scenes
    def put_scene(self, yaml_text: str) -> str:
        digest = scene_hash(yaml_text)
        if self.redis.set(self.key("scene", digest), yaml_text, nx=True):
            self.writes += 1
            self.bytes_written += len(yaml_text)
        return digest

    def scene(self, digest: str) -> str | None:
        data = self.redis.get(self.key("scene", digest))
        return data.decode() if data is not None else None

    # -------------------------------------------------------------------- leases
    def claim(self, session_id: str, worker: str) -> Lease | None:
        """A new lease (and generation) when nobody holds one; None when held."""
        gen = self._claim(keys=[self.key("lease", session_id), self.key("gen", session_id)],
                          args=[worker, self.lease_ms])
        return None if gen is None else Lease(session_id, worker, int(gen))

    def steal(self, session_id: str, worker: str, holder_token: str) -> Lease | None:
        """Take a lease whose holder is known dead (its port refuses connections) before
        it expires: only if the lease is still exactly ``holder_token``. A new generation,
        so the old holder is fenced should it be alive after all."""
        gen = self._steal(keys=[self.key("lease", session_id), self.key("gen", session_id)],
                          args=[worker, holder_token, self.lease_ms])
        return None if gen is None else Lease(session_id, worker, int(gen))

    def renew(self, lease: Lease) -> None:
        if not self._renew(keys=[self.key("lease", lease.session_id)],
                           args=[lease.token, self.lease_ms]):
            raise Fenced(f"lease on {lease.session_id} (gen {lease.gen}) was taken over")

    def release(self, lease: Lease) -> bool:
        return bool(self._release(keys=[self.key("lease", lease.session_id)], args=[lease.token]))

    def holder(self, session_id: str) -> str | None:
        data = self.redis.get(self.key("lease", session_id))
        return data.decode() if data is not None else None

    def request_handoff(self, holder: str, session_id: str) -> None:
        """Ask worker ``holder`` to hand ``session_id`` over (the ring moved it here)."""
        self.redis.sadd(self.key("handoff", holder), session_id)
        self.redis.pexpire(self.key("handoff", holder), self.lease_ms * 10)

    def handoffs(self, worker: str) -> list[str]:
        """Session ids peers asked this worker to hand over (taken: asked once)."""
        key = self.key("handoff", worker)
        pipe = self.redis.pipeline()
        pipe.smembers(key)
        pipe.delete(key)
        members, _ = pipe.execute()
        return sorted(m.decode() for m in members)

    # ---------------------------------------------------------------- descriptors
    def write(self, lease: Lease, meta: Mapping[str, object], snapshot: bytes) -> None:
        """Write the session's descriptor, fenced by ``lease``; renews it too."""
        text = json.dumps(meta, separators=(",", ":"))
        ok = self._write(keys=[self.key("lease", lease.session_id),
                               self.key("session", lease.session_id), self.key("sessions")],
                         args=[lease.token, text, snapshot, lease.worker, lease.gen,
                               lease.session_id, self.lease_ms])
        if not ok:
            raise Fenced(f"lease on {lease.session_id} (gen {lease.gen}) was taken over")
        self.writes += 1
        self.bytes_written += len(text) + len(snapshot)

    def descriptor(self, session_id: str, before: int | None = None
                   ) -> tuple[dict, bytes, str, int] | None:
        """(meta, snapshot, owner, gen) or None. The previous descriptor is kept too:
        with ``before`` (the seq a client resumes at), the newest of the two whose seq is
        not past it (a client that lagged behind the last write), else the newest."""
        data = self.redis.hgetall(self.key("session", session_id))
        if not data or b"meta" not in data:
            return None
        meta, snapshot = json.loads(data[b"meta"]), data.get(b"snapshot", b"")
        if before is not None and int(meta["seq"]) > before and b"prev_meta" in data:
            prev = json.loads(data[b"prev_meta"])
            if int(prev["seq"]) <= before:
                meta, snapshot = prev, data.get(b"prev_snapshot", b"")
        return (meta, snapshot, data.get(b"owner", b"").decode(), int(data.get(b"gen", b"0")))

    def drop(self, lease: Lease) -> bool:
        """Forget an ended session (only its lease holder may)."""
        return bool(self._drop(keys=[self.key("lease", lease.session_id),
                                     self.key("session", lease.session_id), self.key("sessions")],
                               args=[lease.token, lease.session_id]))

    def sessions(self) -> list[tuple[str, str, int]]:
        """(session id, owner worker, generation) of every described session."""
        out = []
        for raw in sorted(self.redis.smembers(self.key("sessions"))):
            sid = raw.decode()
            owner, gen = self.redis.hmget(self.key("session", sid), "owner", "gen")
            if owner is None:
                self.redis.srem(self.key("sessions"), sid)
                continue
            out.append((sid, owner.decode(), int(gen or 0)))
        return out


def new_worker_id(address: str) -> str:
    return f"{address}#{os.getpid()}#{int(time.time() * 1000) % 100000}"
