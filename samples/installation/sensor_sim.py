"""A sensor simulator for samples/installation: a people counter over MQTT, a light sensor
and a PIR motion sensor over OSC - what a gallery's sensors send, sped up.

    python samples/installation/sensor_sim.py                      # forever, 1 reading/s
    python samples/installation/sensor_sim.py --speed 60 --seconds 120 --garbage 0.05

``--speed 60`` plays an hour of visitors per minute; ``--garbage 0.05`` makes 5 % of
the readings broken (text, NaN, huge payloads, wrong JSON) to watch Cadenza count and
log them while the music plays on. Needs python-osc and paho-mqtt (Cadenza's own
dependencies).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time

import paho.mqtt.client as mqtt
from pythonosc.udp_client import SimpleUDPClient

GARBAGE = [b"twelve", b"NaN", b"x" * 5000, b'{"count": "many"}', b"{not json", b"[1, 2]",
           b'{"count": 1e999}', b"\xff\xfe"]


def visitors_at(hour: float) -> float:
    """A gallery day: opens at 10, a lunch peak, a bigger afternoon peak, closes at 18."""
    if not 10 <= hour < 18:
        return 0.0
    peak = 25 * math.exp(-((hour - 12.5) / 1.0) ** 2) + 60 * math.exp(-((hour - 15.5) / 1.2) ** 2)
    return max(0.0, peak + random.gauss(0, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--osc", default="127.0.0.1:9000", help="OSC host:port")
    parser.add_argument("--broker", default="127.0.0.1:1883", help="MQTT host:port")
    parser.add_argument("--topic", default="gallery/east/visitors")
    parser.add_argument("--rate", type=float, default=1.0, help="readings per second")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="simulated seconds per real second (60: an hour a minute)")
    parser.add_argument("--start-hour", type=float, default=9.5)
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    parser.add_argument("--garbage", type=float, default=0.0, help="fraction of broken readings")
    args = parser.parse_args()

    osc_host, osc_port = args.osc.rsplit(":", 1)
    osc = SimpleUDPClient(osc_host, int(osc_port))
    broker_host, broker_port = args.broker.rsplit(":", 1)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sensor-sim")
    client.connect_async(broker_host, int(broker_port))
    client.loop_start()  # reconnects by itself if the broker restarts

    started = time.monotonic()
    period = 1.0 / args.rate
    n = 0
    try:
        while not args.seconds or time.monotonic() - started < args.seconds:
            elapsed = time.monotonic() - started
            hour = (args.start_hour + elapsed * args.speed / 3600) % 24
            visitors = round(visitors_at(hour))
            light = round(min(1.0, max(0.0, math.sin(math.pi * (hour - 6) / 14))), 3)
            motion = 1 if random.random() < min(0.9, visitors / 30 + 0.05) else 0
            if args.garbage and random.random() < args.garbage:
                client.publish(args.topic, random.choice(GARBAGE))
                osc.send_message("/gallery/light", random.choice(["bright", float("nan"), 7.5]))
            else:
                client.publish(args.topic, json.dumps({"count": visitors, "sensor": "door-1"}))
                osc.send_message("/gallery/light", light)
                osc.send_message("/gallery/motion", motion)
            if n % max(1, int(args.rate * 5)) == 0:
                print(f"{hour:05.2f}h visitors={visitors} light={light} motion={motion}", flush=True)
            n += 1
            time.sleep(max(0.0, started + n * period - time.monotonic()))
    except KeyboardInterrupt:
        pass
    finally:
        client.loop_stop()


if __name__ == "__main__":
    main()
