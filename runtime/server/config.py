"""Serving configuration: limits and policies, passed in explicitly (never global)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..scene.limits import SceneLimits


@dataclass(frozen=True)
class RuntimeConfig:
    default_engine: str = "procedural"
    scenes_dir: Path | None = None          # None: the example scenes shipped with Cadenza
    lookahead_s: float = 0.5                # audio generated ahead of real time
    max_sessions: int = 1024                # a hard cap; admission control refuses earlier
    admission: bool = True                  # refuse sessions beyond the measured capacity
    admission_floor: int = 16               # below this many sessions, always admit
    admission_headroom: float = 0.6         # share of a block's time the engine may use
    admission_cpu: float = 0.7              # cores this process may use (a per-row engine)
    max_listeners: int = 16                 # streams attached to one session
    idle_timeout_s: float = 60.0            # a session with no stream for this long is closed
    max_backlog_s: float = 4.0              # a stream further behind than this is dropped
    history_s: float = 4.0                  # audio kept per session for resuming streams
    updates_per_second: float = 200.0       # state/prompt/control messages per session
    record_dir: Path | None = None          # write session recordings here (replay)
    metrics_per_session: bool = False       # per-session series on /metrics (small servers)
    # Hostile input (docs/scenes.md "Limits"): the bounds of every scene the server compiles,
    # where a client's scene may find audio files (None: nowhere), and the budget of the
    # worker process that compiles client scenes, scene checks and reloads off the loop.
    scene_limits: SceneLimits = field(default_factory=SceneLimits)
    asset_dir: Path | None = None
    compile_workers: int = 2                # processes; 0 compiles in a thread instead
    compile_timeout_s: float = 2.0          # per scene, then the worker is killed
    compile_memory_mb: int = 256            # address space a compile may add (RLIMIT_AS)
