"""Stream a Cadenza session with the Python SDK while changing its state.

Start a server first (`cadenza serve`), then:

    python samples/python/stream_session.py --seconds 20 --out session.wav
    python samples/python/stream_session.py --play          # to the sound card (sounddevice)
"""

from __future__ import annotations

import argparse
import math
import threading
import time

from cadenza.sdk import Client


def steer(session, seconds: float, stop: threading.Event) -> None:
    """A pretend game: danger rises and falls, the player wanders into a cave."""
    start = time.monotonic()
    while not stop.is_set() and time.monotonic() - start < seconds:
        t = time.monotonic() - start
        danger = 0.5 + 0.5 * math.sin(t / 4.0)
        session.update(danger=round(danger, 3), biome="cave" if t > seconds / 2 else "forest")
        time.sleep(0.25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--token")
    parser.add_argument("--scene", default="dungeon")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", default="session.wav")
    parser.add_argument("--play", action="store_true", help="play instead of writing a WAV")
    args = parser.parse_args()

    with Client(args.address, token=args.token) as client:
        session = client.create_session(scene=args.scene)
        print(f"session {session.id}: scene {args.scene}, engine {session.created.engine}")
        stop = threading.Event()
        threading.Thread(target=steer, args=(session, args.seconds, stop), daemon=True).start()
        try:
            if args.play:
                session.play_to_device(seconds=args.seconds)
            else:
                def show(event) -> None:
                    if event.kind == "blend_changed":
                        blend = ", ".join(f"{k} {v:.2f}" for k, v in event.blend.items())
                        print(f"  {event.stream_time / 48000:6.1f}s  {blend}")

                frames = session.record(args.out, seconds=args.seconds, on_event=show)
                print(f"wrote {args.out}: {frames / 48000:.1f} s")
        finally:
            stop.set()
            session.close()


if __name__ == "__main__":
    main()
