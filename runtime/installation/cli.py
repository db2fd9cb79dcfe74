"""The installation subcommands of `cadenza`: ``run`` and ``service install``.

`add_parsers(sub)` registers them on the main parser (runtime/cli.py); the commands live
here so the main CLI module stays a table of contents.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def cmd_run(args: argparse.Namespace) -> int:
    from ..engines import create_engine
    from ..logging_setup import configure
    from .config import ConfigError, load_config
    from .supervisor import run_installation

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    configure(args.log_format or config.log_format,
              "debug" if args.verbose else config.log_level)
    if args.check:
        print(f"{config.path}: installation {config.name!r} is valid")
        print(config.scene.summary())
        for b in config.bindings:
            silence = f", default after {b.silence_s:g}s of silence" if b.silence_s else ""
            print(f"  source  {b.label} -> {b.input}{silence}")
        return 0
    engine = create_engine(config.engine)  # fail now, with one clear line, if it cannot run
    return asyncio.run(run_installation(config, engines={config.engine: engine}))


def cmd_service_install(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_config
    from .service import UnitOptions, install_unit, next_steps, render_unit

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    options = UnitOptions(name=args.name or config.name, config=Path(args.config),
                          user_unit=args.user, run_as=args.run_as,
                          watchdog_s=args.watchdog,
                          writable=(config.wav.directory,) if config.wav else ())
    if args.print:
        sys.stdout.write(render_unit(options))
        return 0
    try:
        path = install_unit(options, Path(args.unit_dir) if args.unit_dir else None)
    except PermissionError as exc:
        print(f"cadenza: cannot write the unit ({exc}); run as root, or use --user or "
              f"--print", file=sys.stderr)
        return 2
    print(next_steps(path, args.user))
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    """List the output devices; ``--test-tone`` plays a 440 Hz tone on one of them."""
    from ..sinks.device import DeviceSink, DeviceUnavailable, _sounddevice, output_devices

    try:
        sd = _sounddevice()
    except DeviceUnavailable as exc:
        print(f"cadenza devices: {exc}", file=sys.stderr)
        return 2
    outputs = output_devices()
    if not outputs:
        print("cadenza devices: PortAudio sees no output device here; plug in a sound card, "
              "or check that this user is in the 'audio' group", file=sys.stderr)
        return 1
    default = sd.default.device[1] if isinstance(sd.default.device, (list, tuple)) else None
    for line in outputs:
        index = int(line.split(":", 1)[0])
        print(("* " if index == default else "  ") + line)
    if args.test_tone is None:
        return 0
    import time

    import numpy as np

    device = None if args.test_tone in ("", "default") else (
        int(args.test_tone) if args.test_tone.isdigit() else args.test_tone)
    sink = DeviceSink(device, margin_s=0.1)
    t = np.arange(int(args.seconds * sink.sample_rate)) / sink.sample_rate
    tone = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    ramp = min(len(t) // 2, 2400)
    tone[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)
    tone[-ramp:] *= np.linspace(1, 0, ramp, dtype=np.float32)
    try:
        sink.start()
    except DeviceUnavailable as exc:
        print(f"cadenza devices: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"playing a 440 Hz tone on {sink.device_name} for {args.seconds:g} s")
        sink.buffer.push(np.stack([tone, tone], axis=1))
        time.sleep(args.seconds + 0.3)
    finally:
        sink.close()
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list the sound card outputs (the names and indexes "
                                       "outputs.device takes); --test-tone plays a tone",
                       epilog="examples:\n  cadenza devices\n  cadenza devices --test-tone\n"
                              "  cadenza devices --test-tone 'USB Audio' --seconds 5")
    p.add_argument("--test-tone", nargs="?", const="default", metavar="DEVICE",
                   help="play a 440 Hz tone on DEVICE (a name, an index, or the default)")
    p.add_argument("--seconds", type=float, default=2.0, help="length of the test tone")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("run", help="run an installation from one config file (sensors, "
                                   "sound card, recording; restarts and reloads by itself)",
                       epilog="examples:\n  cadenza run samples/installation/installation.yaml\n"
                              "  cadenza run gallery.yaml --check        # validate, print, exit\n"
                              "  cadenza run gallery.yaml --log-format json")
    p.add_argument("config", help="installation YAML (see docs/installations.md)")
    p.add_argument("--log-format", choices=["text", "json"],
                   help="override the file's log.format (json: one object per line)")
    p.add_argument("--check", action="store_true",
                   help="validate the config and its scene, print a summary, and exit")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("service", help="systemd integration for installations")
    service_sub = p.add_subparsers(dest="service_command", required=True)
    s = service_sub.add_parser("install", help="write a hardened systemd unit that runs "
                                               "`cadenza run CONFIG` with restart and watchdog",
                               epilog="examples:\n  sudo cadenza service install gallery.yaml"
                                      "            # User=cadenza\n"
                                      "  cadenza service install gallery.yaml --print | less\n"
                                      "  cadenza service install gallery.yaml --user   "
                                      "# PipeWire/PulseAudio")
    s.add_argument("config", help="installation YAML")
    s.add_argument("--user", action="store_true",
                   help="a user unit (~/.config/systemd/user) instead of a system unit")
    s.add_argument("--name", help="unit name suffix (default: the installation's name)")
    s.add_argument("--run-as", help="User= for a system unit (default: a dedicated user "
                                    "'cadenza' in the audio group)")
    s.add_argument("--watchdog", type=int, default=30,
                   help="WatchdogSec: seconds without audio before systemd restarts it")
    s.add_argument("--unit-dir", help="write the unit here instead of the systemd folder")
    s.add_argument("--print", action="store_true", help="print the unit instead of writing it")
    s.set_defaults(func=cmd_service_install)

