"""The chaos switch: an engine wrapper that injects faults, for testing a setup end to end.

``cadenza serve --chaos SPEC`` wraps the served engine in `ChaosEngine` (a testing aid,
off by default; see docs/when-the-model-is-late.md). A spec is a list of clauses, each a
fault and its modifiers, separated by ``;`` or simply by starting the next fault::

    stall=300ms,every=2s            one call in every 2 s blocks 300 ms longer
    hang=5s,after=30s               one call, 30 s after the first, blocks 5 s
    fail=0.01                       each row fails with probability 0.01 per block
    fail=1,seed=666                 every block of the session(s) with seed 666 fails
    slow=1.5x                       every call takes 1.5 times as long
    stall=300ms,every=2s;fail=1,seed=7

Faults:

* ``stall=D`` / ``hang=D``: the call sleeps ``D`` before running (on the engine's thread,
  as a slow GPU step blocks it). Once, unless ``every=T``: then again every ``T``. The
  first one comes ``after=T0`` (default: ``every``, or at once without it). Times count
  from the wrapper's first ``generate`` call, or for a clause with ``seed=S`` from the
  first call serving that seed (``fail=1,seed=7,after=5s``: session 7 plays 5 s, then
  fails). A hang is a stall meant to outlast the
  runtime's hung-call detection; both are reported by their own name.
* ``fail=P``: each row of a call is poisoned with probability ``P`` (0-1, or ``1%``);
  a call holding a poisoned row raises `ChaosFault`, so the loop's bisecting retry isolates
  the row and ends its session alone. Optional ``after=T0``.
* ``slow=F`` (``1.5x`` or ``1.5``, at least 1): each call sleeps ``(F - 1)`` times its own
  duration after running. Optional ``after=T0``.

``seed=S`` on any clause targets it at the rows whose session seed is ``S`` (a call is
stalled or slowed only when it serves such a row; only such rows fail). A session's
seed is the ``seed`` of its create request (or of its scene), so a test or a user targets
one session by creating it with a seed of its own.

Deterministic: whether a row fails is a function of its session seed and how many blocks
that seed has completed (a bisecting retry sees the same answer); stalls follow the clock.

Threading: like any engine, called from one thread at a time; ``embed`` (forwarded
untouched) may run on another.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .base import EngineInfo, EngineOutput, Knobs, Prompt, StyleChange, StyleEmbedding

__all__ = ["ChaosEngine", "ChaosFault", "ChaosSpec", "ChaosSpecError", "Fault", "parse_chaos",
           "serve_chaos"]

log = logging.getLogger("cadenza.chaos")

FAULTS = ("stall", "hang", "fail", "slow")
MODIFIERS = {"stall": ("every", "after", "seed"), "hang": ("every", "after", "seed"),
             "fail": ("after", "seed"), "slow": ("after", "seed")}
_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|min)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, None: 1.0}


class ChaosSpecError(ValueError):
    """A spec that does not parse; the message names the spec and the faulty clause."""


class ChaosFault(RuntimeError):
    """Raised from ``generate`` by a ``fail`` clause (an injected engine failure)."""


@dataclass(frozen=True)
class Fault:
    """One clause. ``value``: seconds (stall, hang), a probability (fail) or a factor
    (slow). ``every``/``after`` in seconds; ``seed``: only rows of that session seed."""

    kind: str
    value: float
    every: float | None = None
    after: float | None = None
    seed: int | None = None
    text: str = ""

    def targets(self, seed: int | None) -> bool:
        return self.seed is None or seed == self.seed

    @property
    def first_at(self) -> float:
        """Seconds after the first call at which the fault starts."""
        if self.after is not None:
            return self.after
        return self.every if (self.kind in ("stall", "hang") and self.every) else 0.0


@dataclass(frozen=True)
class ChaosSpec:
    faults: tuple[Fault, ...]
    text: str = ""

    def __str__(self) -> str:
        return self.text


def _duration(raw: str, key: str, where: str) -> float:
    m = _DURATION.match(raw.strip().lower())
    if not m:
        raise ChaosSpecError(f"{where}: {key}={raw!r} is not a duration (e.g. 300ms, 2s, 1m)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _number(raw: str, key: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ChaosSpecError(f"{where}: {key}={raw!r} is not a number") from None
    if not np.isfinite(value):
        raise ChaosSpecError(f"{where}: {key}={raw!r} must be finite")
    return value


def _value(kind: str, raw: str, where: str) -> float:
    if kind in ("stall", "hang"):
        value = _duration(raw, kind, where)
        if value <= 0:
            raise ChaosSpecError(f"{where}: {kind} must be longer than 0 s")
        return value
    if kind == "fail":
        text = raw.strip()
        value = _number(text[:-1], kind, where) / 100 if text.endswith("%") else \
            _number(text, kind, where)
        if not 0 <= value <= 1:
            raise ChaosSpecError(f"{where}: fail={raw!r} must be a probability within [0, 1] "
                                 f"(or a percentage like 1%)")
        return value
    text = raw.strip().lower()
    value = _number(text[:-1] if text.endswith("x") else text, kind, where)
    if value < 1:
        raise ChaosSpecError(f"{where}: slow={raw!r} must be a factor of at least 1 "
                             f"(e.g. 1.5x)")
    return value


def parse_chaos(spec: str) -> ChaosSpec:
    """Parse a ``--chaos`` spec (grammar in the module docstring). Raises ChaosSpecError
    naming the clause at fault."""
    text = spec.strip()
    if not text:
        raise ChaosSpecError("chaos spec is empty; e.g. stall=300ms,every=2s or fail=0.01")
    faults: list[Fault] = []
    for group in text.split(";"):
        current: dict[str, Any] | None = None
        parts: list[str] = []
        for token in (t.strip() for t in group.split(",")):
            if not token:
                raise ChaosSpecError(f"chaos spec {text!r}: empty clause in {group.strip()!r}")
            key, eq, raw = token.partition("=")
            key = key.strip().lower()
            where = f"chaos spec {text!r}, clause {token!r}"
            if not eq or not raw.strip():
                raise ChaosSpecError(f"{where}: expected key=value")
            if key in FAULTS:
                if current is not None:
                    faults.append(_fault(current, parts))
                current, parts = {"kind": key, "value": _value(key, raw, where)}, [token]
                continue
            if current is None:
                known = ", ".join(FAULTS)
                if key in MODIFIERS["stall"]:
                    raise ChaosSpecError(f"{where}: {key!r} must follow a fault ({known})")
                raise ChaosSpecError(f"{where}: unknown fault {key!r}; faults are {known}")
            if key not in MODIFIERS[current["kind"]]:
                allowed = ", ".join(MODIFIERS[current["kind"]])
                if key not in MODIFIERS["stall"]:
                    raise ChaosSpecError(f"{where}: unknown key {key!r}; faults are "
                                         f"{', '.join(FAULTS)}, and {current['kind']} takes "
                                         f"{allowed}")
                raise ChaosSpecError(f"{where}: {key!r} does not apply to {current['kind']} "
                                     f"(it takes {allowed})")
            if key in current:
                raise ChaosSpecError(f"{where}: {key!r} given twice for one {current['kind']}")
            if key == "seed":
                try:
                    current[key] = int(raw.strip())
                except ValueError:
                    raise ChaosSpecError(f"{where}: seed={raw!r} is not a whole number "
                                         f"(the session seed to target)") from None
            else:
                current[key] = _duration(raw, key, where)
                if key == "every" and current[key] <= 0:
                    raise ChaosSpecError(f"{where}: every must be longer than 0 s")
            parts.append(token)
        if current is not None:
            faults.append(_fault(current, parts))
    return ChaosSpec(tuple(faults), text)


def _fault(fields: dict[str, Any], parts: list[str]) -> Fault:
    return Fault(fields["kind"], fields["value"], fields.get("every"), fields.get("after"),
                 fields.get("seed"), ",".join(parts))


@dataclass
class Injection:
    """One fault that happened: at ``at`` seconds after the first call, ``seconds`` of
    added delay (0 for a failure), to the rows of these session seeds."""

    kind: str
    at: float
    seconds: float
    seeds: tuple[int | None, ...] = field(default_factory=tuple)


class ChaosEngine:
    """Wraps ``inner`` (any engine) and injects ``spec``'s faults into ``generate``.

    Everything else is forwarded: ``info``, ``embed``, ``neutral_style``, ``init_state``,
    ``release``, ``snapshot``, ``restore``, and ``bucket_for`` / ``beat_clock`` /
    ``phrase`` exactly when the inner engine has them (the instance's class then has the
    method, so protocol checks see the same capabilities as for the inner engine).
    ``injections`` lists the faults injected so far (read it from any thread).
    ``clock``/``sleep`` are injectable for tests (seconds)."""

    _classes: ClassVar[dict[tuple[bool, bool, bool], type]] = {}

    def __new__(cls, inner, spec: ChaosSpec | str, clock: Callable[[], float] | None = None,
                sleep: Callable[[float], None] | None = None):
        if cls is ChaosEngine:
            key = (callable(getattr(inner, "bucket_for", None)),
                   callable(getattr(inner, "beat_clock", None)),
                   callable(getattr(inner, "phrase", None)))
            if key not in cls._classes:
                bases = tuple(b for b, on in zip((_Batched, _Grid, _Phrases), key, strict=True)
                              if on)
                name = "ChaosEngine" + "".join(b.__name__ for b in bases)
                cls._classes[key] = type(name, (ChaosEngine, *bases), {})
            cls = cls._classes[key]
        return super().__new__(cls)

    def __init__(self, inner, spec: ChaosSpec | str, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.inner = inner
        self.spec = parse_chaos(spec) if isinstance(spec, str) else spec
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep
        self.injections: list[Injection] = []
        self._origin: dict[int | None, float] = {}  # None: the first call; a seed: its first
        self._next = {i: f.first_at for i, f in enumerate(self.spec.faults)
                      if f.kind in ("stall", "hang")}
        self._blocks: dict[int | None, int] = {}  # session seed -> blocks completed
        self._seeds: dict[int, int] = {}  # id(state) -> seed, for states without .seed
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ forwarded
    @property
    def info(self) -> EngineInfo:
        return self.inner.info

    @property
    def random_weights(self) -> bool:
        """MRT2's ``tiny`` model flag (the serve banner says so), passed through."""
        return bool(getattr(self.inner, "random_weights", False))

    def embed(self, prompt: Prompt) -> StyleEmbedding:
        return self.inner.embed(prompt)

    def neutral_style(self) -> np.ndarray:
        return self.inner.neutral_style()

    def init_state(self, seed: int) -> Any:
        state = self.inner.init_state(seed)
        self._remember(state, int(seed))
        return state

    def release(self, state: Any) -> None:
        self._seeds.pop(id(state), None)
        release = getattr(self.inner, "release", None)
        if release is not None:
            release(state)

    def snapshot(self, state: Any) -> bytes:
        return self.inner.snapshot(state)

    def restore(self, data: bytes) -> Any:
        return self.inner.restore(data)

    # ------------------------------------------------------------------ faults
    def seed_of(self, state: Any) -> int | None:
        """The session seed a state belongs to (its ``seed``, or the one it was made for)."""
        seed = getattr(state, "seed", None)
        return int(seed) if isinstance(seed, int | np.integer) else self._seeds.get(id(state))

    def _remember(self, state: Any, seed: int | None) -> None:
        if seed is not None and getattr(state, "seed", None) is None:
            self._seeds[id(state)] = seed

    def _poisoned(self, fault: Fault, seed: int | None) -> bool:
        if not fault.targets(seed) or fault.value <= 0:
            return False
        if fault.value >= 1:
            return True
        n = self._blocks.get(seed, 0)
        return random.Random(f"{fault.text}|{seed}|{n}").random() < fault.value

    def _record(self, kind: str, now: float, seconds: float, seeds) -> None:
        with self._lock:
            self.injections.append(Injection(kind, now, seconds, tuple(seeds)))

    def generate(self, states: Sequence[Any], styles: np.ndarray, knobs: Sequence[Knobs],
                 frames: int, changes: Sequence[StyleChange | None] | None = None
                 ) -> EngineOutput:
        now = self.clock()
        seeds = [self.seed_of(s) for s in states]
        for key in (None, *seeds):
            self._origin.setdefault(key, now)
        t0 = self._origin[None]
        slow = 1.0
        for i, fault in enumerate(self.spec.faults):
            hit = [s for s in seeds if fault.targets(s)]
            if not hit:
                continue
            t = now - self._origin[fault.seed if fault.seed is not None else None]
            if fault.after is not None and t < fault.after and fault.kind in ("fail", "slow"):
                continue
            if fault.kind == "fail":
                bad = [s for s in seeds if self._poisoned(fault, s)]
                if bad:
                    self._record("fail", now - t0, 0.0, bad)
                    raise ChaosFault(f"chaos: injected engine failure ({fault.text}) for "
                                     f"session seed(s) {', '.join(map(str, bad))}")
            elif fault.kind == "slow":
                slow *= fault.value
            elif t >= self._next[i]:
                if fault.every:
                    while self._next[i] <= t:  # a late call does not owe the missed stalls
                        self._next[i] += fault.every
                else:
                    self._next[i] = float("inf")
                self._record(fault.kind, now - t0, fault.value, hit)
                self.sleep(fault.value)
        started = self.clock()
        if changes is not None:
            out = self.inner.generate(states, styles, knobs, frames, changes=changes)
        else:
            out = self.inner.generate(states, styles, knobs, frames)
        if slow > 1.0:
            extra = (self.clock() - started) * (slow - 1.0)
            self._record("slow", now - t0, extra, seeds)
            self.sleep(extra)
        for seed, old, new in zip(seeds, states, out.states, strict=True):
            self._blocks[seed] = self._blocks.get(seed, 0) + 1
            if new is not old:
                self._seeds.pop(id(old), None)
                self._remember(new, seed)
        return out

    def injected_seconds(self, kinds: Sequence[str] = ("stall", "hang")) -> float:
        """Seconds of delay injected so far by faults of these kinds."""
        with self._lock:
            return sum(i.seconds for i in self.injections if i.kind in kinds)


def serve_chaos(engine, spec: str, host: str, force: bool = False) -> ChaosEngine:
    """``cadenza serve --chaos SPEC``: ``engine`` wrapped, or SystemExit with one line (a
    bad spec naming its clause; a non-loopback ``host`` without ``force``). Announces
    itself on stderr and in the log: nobody should serve injected faults unknowingly."""
    import sys

    from ..serve import is_loopback

    try:
        parsed = parse_chaos(spec)
    except ChaosSpecError as exc:
        raise SystemExit(f"cadenza: --chaos: {exc}") from None
    if not is_loopback(host) and not force:
        raise SystemExit(f"cadenza: --chaos is a testing aid and injects faults into every "
                         f"session; it is refused with --host {host} (not loopback) unless "
                         f"you also pass --chaos-force")
    print(f"cadenza: CHAOS ON (testing aid): engine {engine.info.name} injects faults "
          f"{parsed.text!r}", file=sys.stderr, flush=True)
    log.warning("chaos switch on: engine %s injects faults %r", engine.info.name, parsed.text)
    return ChaosEngine(engine, parsed)


class _Batched:
    def bucket_for(self, rows: int) -> int:
        return self.inner.bucket_for(rows)  # type: ignore[attr-defined]


class _Grid:
    def beat_clock(self, state: Any, style: np.ndarray | None = None,
                   knobs: Knobs | None = None):
        return self.inner.beat_clock(state, style, knobs)  # type: ignore[attr-defined]


class _Phrases:
    def phrase(self, state: Any, text: str, beats: float) -> np.ndarray:
        return self.inner.phrase(state, text, beats)  # type: ignore[attr-defined]
