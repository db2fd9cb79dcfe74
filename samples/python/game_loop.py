"""A simulated game loop steering a Cadenza session with the Python SDK.

A pretend player walks from the town into a forest and down into a cave while enemies come
and go: the loop ticks at 30 Hz like a game, derives the dungeon scene's inputs (biome,
danger, health) from the simulation, and pushes them at most 10 times a second, always the
latest values. The music plays to the sound card when sounddevice is installed (and a device
is there), else it is written to a WAV file. Start a server first (`cadenza serve`), then:

    python samples/python/game_loop.py --seconds 30                 # sound card, or game_loop.wav
    python samples/python/game_loop.py --seconds 30 --out run.wav   # always a WAV
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from dataclasses import dataclass

from cadenza.sdk import Client

TICK_HZ = 30


@dataclass
class World:
    """The game's state: where the player is, how far the nearest enemy is, health."""

    x: float = 0.0  # 0..100 along the path: town 0-30, forest 30-65, cave 65-100
    enemy_distance: float = 50.0
    health: float = 100.0

    def step(self, t: float, dt: float, length: float) -> None:
        """Advance by dt seconds at time t of a run lasting length seconds."""
        self.x = min(100.0, 100.0 * t / max(length, 1e-6))
        # An enemy circles in and out twice per run; it bites when it is close.
        self.enemy_distance = 12.0 + 10.0 * math.cos(4 * math.pi * t / max(length, 1e-6))
        if self.enemy_distance < 5:
            self.health = max(5.0, self.health - 20 * dt)
        else:
            self.health = min(100.0, self.health + 4 * dt)

    def inputs(self) -> dict[str, object]:
        biome = "town" if self.x < 30 else "forest" if self.x < 65 else "cave"
        danger = min(1.0, max(0.0, 1.0 - self.enemy_distance / 20.0))
        return {"biome": biome, "danger": round(danger, 3), "health": round(self.health, 1)}


class Throttle:
    """At most max_per_second updates, each with the inputs changed since the last one."""

    def __init__(self, max_per_second: float) -> None:
        self.interval = 1.0 / max_per_second
        self.sent: dict[str, object] = {}
        self.last = -math.inf

    def offer(self, values: dict[str, object], now: float) -> dict[str, object] | None:
        changed = {k: v for k, v in values.items() if self.sent.get(k) != v}
        if not changed or now - self.last < self.interval:
            return None
        self.sent.update(changed)
        self.last = now
        return changed


def game_loop(session, seconds: float, max_updates: float, stop: threading.Event) -> tuple[int, int]:
    """Ticks the world at TICK_HZ on absolute deadlines; returns (ticks, updates sent)."""
    world, throttle = World(), Throttle(max_updates)
    start = time.monotonic()
    ticks = updates = 0
    while not stop.is_set():
        now = time.monotonic() - start
        if now >= seconds:
            break
        world.step(now, 1.0 / TICK_HZ, seconds)
        changed = throttle.offer(world.inputs(), now)
        if changed:
            session.update(changed)
            updates += 1
        ticks += 1
        stop.wait(max(0.0, (ticks / TICK_HZ) - (time.monotonic() - start)))
    return ticks, updates


def sound_card_available() -> bool:
    try:
        import sounddevice
    except (ImportError, OSError):  # not installed, or no PortAudio library
        return False
    try:
        return sounddevice.query_devices(kind="output") is not None
    except Exception:  # no output device (a server, a container)
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:50051", help="gRPC address of `cadenza serve`")
    parser.add_argument("--token")
    parser.add_argument("--scene", default="dungeon")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-updates", type=float, default=10.0, help="state updates per second at most")
    parser.add_argument("--out", help="write a WAV file (default: play; game_loop.wav with no sound card)")
    args = parser.parse_args()

    play = args.out is None and sound_card_available()
    out = args.out or "game_loop.wav"

    def show(event) -> None:
        if event.kind == "blend_changed":
            blend = ", ".join(f"{k} {v:.2f}" for k, v in sorted(event.blend.items()))
            print(f"  {event.stream_time / 48000:6.2f}s  {blend}", flush=True)

    with Client(args.address, token=args.token) as client:
        session = client.create_session(scene=args.scene, state=World().inputs())
        print(f"session {session.id}: scene {args.scene}, "
              f"{'playing to the sound card' if play else 'recording to ' + out}", flush=True)
        stop = threading.Event()
        result: list[tuple[int, int]] = []
        loop = threading.Thread(target=lambda: result.append(game_loop(session, args.seconds,
                                                                       args.max_updates, stop)),
                                name="game-loop", daemon=True)
        loop.start()
        try:
            if play:
                session.play_to_device(seconds=args.seconds, on_event=show)
            else:
                frames = session.record(out, seconds=args.seconds, on_event=show)
                print(f"wrote {out}: {frames / 48000:.1f} s", flush=True)
        finally:
            stop.set()
            loop.join()
            session.close()
    ticks, updates = result[0] if result else (0, 0)
    print(f"game loop: {ticks} ticks, {updates} state updates sent", flush=True)


if __name__ == "__main__":
    main()
