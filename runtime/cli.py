"""The `cadenza` command: render, scene check, engines (and serve, run, replay ...)."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .compat import engine_warnings
from .engines import configure as configure_engine
from .engines import create_engine, engine_names
from .errors import CadenzaError, SceneError
from .scene import load_scene


def resolve_scene(ref: str, scenes_dir: Path | None = None) -> Path:
    """A scene reference is a path, or the name of a scene in ``scenes_dir`` (default:
    the shipped examples)."""
    path = Path(ref)
    if path.is_file():
        return path
    from cadenza import scenes

    directory = scenes_dir or scenes.DIRECTORY
    candidate = directory / (ref if ref.endswith((".yaml", ".yml")) else f"{ref}.yaml")
    if candidate.is_file():
        return candidate
    raise SceneError([_issue(ref, f"no scene file {ref!r} (and no scene named {path.stem!r} in "
                                  f"{directory}; examples: {', '.join(scenes.names())})")])


def _issue(file: str, message: str):
    from .errors import SceneIssue

    return SceneIssue(file, None, "", message)


# ----------------------------------------------------------------------------- commands
# As in engines/procedural/engine.py (not imported: the CLI parses without loading an engine).
NOTE_CACHE_MB, MAX_NOTE_CACHE_MB = 192, 1 << 16
BAND_BLOCK_MS, MAX_CHUNK_BLOCKS = 50, 20


def _cache_mb(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give a whole number of megabytes") from None
    if not 1 <= value <= MAX_NOTE_CACHE_MB:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_NOTE_CACHE_MB}")
    return value


def _chunk_ms(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give a whole number of milliseconds") from None
    if not BAND_BLOCK_MS <= value <= BAND_BLOCK_MS * MAX_CHUNK_BLOCKS or value % BAND_BLOCK_MS:
        raise argparse.ArgumentTypeError(
            f"must be a multiple of {BAND_BLOCK_MS} from {BAND_BLOCK_MS} to "
            f"{BAND_BLOCK_MS * MAX_CHUNK_BLOCKS}")
    return value


def _max_sessions(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give 'auto' or a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _engine_model(args: argparse.Namespace) -> None:
    """``--model`` (e.g. mrt2_small) becomes the engine's ``model`` option; serve's MRT2
    flags (codec, frames per call, buckets to precompile) its other options."""
    if getattr(args, "model", None):
        configure_engine(args.engine, model=args.model)
    if args.engine == "procedural" and getattr(args, "band_processes", 0):
        configure_engine(args.engine, processes=args.band_processes)
    if args.engine == "procedural" and getattr(args, "band_cache_mb", None):
        configure_engine(args.engine, note_cache_mb=args.band_cache_mb)
    if args.engine == "procedural" and getattr(args, "band_chunk_ms", None):
        configure_engine(args.engine, chunk_blocks=args.band_chunk_ms // BAND_BLOCK_MS)
    if args.engine == "magenta-rt2" and getattr(args, "codec", None):
        precompile: object = args.precompile
        if precompile in ("all", None):
            precompile = "all"
        elif precompile == "none":
            precompile = ()
        else:
            precompile = tuple(int(v) for v in str(precompile).split(",") if v.strip())
        configure_engine(args.engine, codec=args.codec, frames_per_call=args.frames_per_call,
                         precompile=precompile, max_sessions=args.max_sessions or 64)


def cmd_render(args: argparse.Namespace) -> int:
    from .render import blend_summary, render, write_blend_csv
    from .timeline import load_timeline

    scene = load_scene(resolve_scene(args.scene))
    timeline = load_timeline(args.timeline) if args.timeline else []
    _engine_model(args)
    engine = create_engine(args.engine)
    seconds = args.seconds if args.seconds is not None else render_length(timeline)
    result = render(scene, engine, args.out, seconds, timeline, args.seed,
                    subtype=args.subtype, timeline_file=args.timeline or "<timeline>")
    csv_path = Path(args.blend_csv) if args.blend_csv else Path(args.out).with_suffix(".blend.csv")
    write_blend_csv(result, csv_path)
    print(f"wrote {result.path} ({result.seconds:.1f} s, {result.sample_rate} Hz stereo, "
          f"seed {result.seed}) in {result.wall_seconds:.2f} s = {result.speed:.0f}x real time")
    print(f"blend over time: {csv_path}")
    for line in blend_summary(result):
        print(line)
    for st in result.stingers:
        where = f" (bar {st.bar} beat {st.beat})" if st.bar else ""
        print(f"  stinger {st.name}: {st.status} at {st.time_s:.2f} s{where}")
    if not result.stingers:
        print("  stingers fired: none")
    for prompt, words in result.unknown_words.items():
        print(f"  note: prompt {prompt!r}: words the {args.engine} engine does not know: "
              f"{', '.join(words)}")
    return 0


def cmd_scene_check(args: argparse.Namespace) -> int:
    engine = create_engine(args.engine) if args.engine else None
    failed = 0
    for ref in args.files:
        try:
            scene = load_scene(resolve_scene(ref))
        except SceneError as exc:
            print(exc.report())
            failed += 1
            continue
        print(scene.summary())
        for warning in scene.warnings:
            print(f"  {warning}")
        if engine is not None:
            for warning in engine_warnings(scene, engine):
                print(f"  warning: {warning}")
    if failed:
        print(f"{failed} of {len(args.files)} scene(s) have errors", file=sys.stderr)
    return 1 if failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from .serve import ServeOptions, serve_forever
    from .server import RuntimeConfig

    token = args.token
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SystemExit(f"cadenza: cannot read --token-file {args.token_file}: "
                             f"{exc.strerror or exc}; write the token into it (e.g. "
                             f"`openssl rand -hex 32 > {args.token_file}`) or pass --token") from None
        if not token:
            raise SystemExit(f"cadenza: token file {args.token_file} is empty")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("cadenza: --tls-cert and --tls-key go together")
    scenes_dir = Path(args.scenes) if args.scenes else None
    if scenes_dir and not scenes_dir.is_dir():
        raise SystemExit(f"cadenza: scenes folder {scenes_dir} does not exist")
    config = RuntimeConfig(default_engine=args.engine, scenes_dir=scenes_dir,
                           lookahead_s=args.lookahead, max_sessions=args.max_sessions or 1024,
                           admission=not args.no_admission,
                           idle_timeout_s=args.idle_timeout,
                           record_dir=Path(args.record) if args.record else None,
                           asset_dir=Path(args.assets) if args.assets else None,
                           metrics_per_session=args.metrics_per_session)
    _engine_model(args)
    engine = create_engine(args.engine)  # fail now, with one clear line, if it cannot run here
    if args.chaos:  # a testing aid: injected engine faults (docs/when-the-model-is-late.md)
        from .engines.chaos import serve_chaos

        engine = serve_chaos(engine, args.chaos, args.host, force=args.chaos_force)
    options = ServeOptions(host=args.host, grpc_port=args.grpc_port, ws_port=args.ws_port,
                           token=token, runtime=config, console_port=args.console_port or None,
                           engines={args.engine: engine},
                           tls_cert=Path(args.tls_cert) if args.tls_cert else None,
                           tls_key=Path(args.tls_key) if args.tls_key else None)
    from .cluster.cli import serve_build

    asyncio.run(serve_forever(options, serve_build(args)))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from . import replay

    if args.diff:
        for name in (*args.diff, *([args.rec] if args.rec else [])):
            if not Path(name).is_file():
                raise SystemExit(f"cadenza replay: no file {name!r}; give two WAV renders "
                                 f"(cadenza render / cadenza replay --out)")
        d = replay.diff(args.diff[0], args.diff[1], args.rec)
        if d.sample is None:
            print(f"identical: {d.frames[0]} frames")
            return 0
        print(f"first difference at sample {d.sample} ({d.seconds:.6f} s); lengths "
              f"{d.frames[0]} and {d.frames[1]} frames")
        if args.rec:
            blend = ", ".join(f"{k} {v:.3f}" for k, v in d.blend.items()) or "silence"
            where = (f", bar {d.clock.bar} beat {d.clock.beat_in_bar} ({d.clock.bpm:.1f} bpm)"
                     if d.clock is not None else "")
            print(f"blend there: {blend}{where}")
        return 1
    if not args.recording or not args.out:
        raise SystemExit("cadenza replay: give REC --out OUT.wav, or --diff A.wav B.wav")
    if not Path(args.recording).is_file():
        raise SystemExit(f"cadenza replay: no recording {args.recording!r}; `cadenza serve "
                         f"--record DIR` writes one DIR/<session>.cadrec per session")
    result = replay.replay(args.recording, args.out, args.subtype)
    for warning in result.warnings:
        print(f"warning: {warning}")
    print(f"wrote {result.path} ({result.frames / 48000:.2f} s)")
    return 0


def cmd_engines(args: argparse.Namespace) -> int:
    for name in engine_names():
        try:
            info = create_engine(name).info
        except CadenzaError as exc:
            print(f"{name}: unavailable: {exc}")
            continue
        print(f"{name} {info.version}: {info.sample_rate} Hz x{info.channels}, block "
              f"{info.block_frames} frames ({info.block_seconds * 1000:.0f} ms), max batch "
              f"{info.max_batch}, prompts {'/'.join(sorted(info.prompt_kinds))}, knobs "
              f"{', '.join(sorted(info.knobs))}. {info.description}")
    return 0


TAIL_S = 10.0      # render: audio after a timeline's last event, so its change is heard
DEFAULT_S = 30.0   # render: length without a timeline


def render_length(timeline: Sequence) -> float:
    """`render`'s default length: the whole timeline plus TAIL_S, or DEFAULT_S."""
    return max(event.at_s for event in timeline) + TAIL_S if timeline else DEFAULT_S


# ------------------------------------------------------------------------------ parser
class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after every flag's help (those that have one: None and False are
    said in the help's own words); descriptions and examples kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """Every parser and subparser of `cadenza` shows defaults and keeps its examples."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


EXAMPLES = {
    "cadenza": "examples:\n  cadenza render dungeon --timeline samples/timelines/dungeon.yaml "
               "--out dungeon.wav\n  cadenza serve --token-file /etc/cadenza/token\n"
               "  cadenza run samples/installation/installation.yaml\n"
               "  cadenza scene check scenes/*.yaml --engine procedural",
    "cadenza render": "examples:\n  cadenza render minimal --seconds 10 --out minimal.wav\n"
                      "  cadenza render dungeon --timeline samples/timelines/dungeon.yaml "
                      "--out dungeon.wav --seed 7",
    "cadenza serve": "examples:\n  cadenza serve                                # loopback, "
                     "console on http://127.0.0.1:8080/\n  cadenza serve --host 0.0.0.0 "
                     "--token-file /etc/cadenza/token\n  cadenza serve --scenes my_scenes "
                     "--record recordings --console-port 0",
    "cadenza replay": "examples:\n  cadenza replay recordings/kZ2x.cadrec --out again.wav\n"
                      "  cadenza replay --diff a.wav b.wav --rec recordings/kZ2x.cadrec",
    "cadenza scene check": "examples:\n  cadenza scene check my_scene.yaml\n"
                           "  cadenza scene check scenes/*.yaml --engine magenta-rt2",
}


def _finish(parser: argparse.ArgumentParser) -> None:
    """Every subcommand gets its one-line help as its description (when it has none) and
    its examples; walks the whole tree, so subcommands added elsewhere get them too."""
    parser.epilog = parser.epilog or EXAMPLES.get(parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                if child.description is None and helps.get(name):
                    child.description = helps[name][0].upper() + helps[name][1:] + "."
                _finish(child)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="cadenza", description="Cadenza: live, steerable "
                    "music for games and installations.")
    parser.add_argument("--version", action="version", version=f"cadenza {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, and a full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("render", help="render a scene (with a timeline) to a WAV file")
    p.add_argument("scene", help="scene file, or the name of an example scene")
    p.add_argument("--out", required=True, help="output WAV path")
    p.add_argument("--timeline", help="timeline YAML: '- at: 4s' / 'set: {danger: 0.8}'")
    p.add_argument("--seconds", type=float,
                   help=f"length of the render (default: the whole timeline plus {TAIL_S:g} s, or "
                        f"{DEFAULT_S:g} s without a timeline)")
    p.add_argument("--seed", type=int, help="random seed (default: a fresh one, printed)")
    p.add_argument("--engine", default="procedural", choices=engine_names(),
                   help="the engine that makes the music")
    p.add_argument("--model", help="the engine's model, e.g. mrt2_small or mrt2_base for magenta-rt2")
    p.add_argument("--subtype", default="PCM_16", choices=["PCM_16", "PCM_24", "FLOAT"],
                   help="WAV sample format")
    p.add_argument("--blend-csv", help="where to write the blend, inputs and knobs over time "
                                       "(default: OUT with the suffix .blend.csv)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("scene", help="scene tools")
    scene_sub = p.add_subparsers(dest="scene_command", required=True)
    c = scene_sub.add_parser("check", help="compile scenes and report every error")
    c.add_argument("files", nargs="+", help="scene files, or names of example scenes")
    c.add_argument("--engine", choices=engine_names(),
                   help="also warn about prompts/knobs this engine will not honour")
    c.set_defaults(func=cmd_scene_check)

    p = sub.add_parser("serve", help="serve sessions over gRPC and WebSocket (the main job)")
    p.add_argument("--engine", default="procedural", choices=engine_names(),
                   help="the engine sessions use unless they ask for another")
    p.add_argument("--model", help="the engine's model, e.g. mrt2_small or mrt2_base for magenta-rt2")
    p.add_argument("--scenes", help="folder of scene YAML files to serve (default: the examples)")
    p.add_argument("--band-processes", type=int, default=0, metavar="N",
                   help="procedural engine: play the band in N worker processes, off the "
                        "serving process's interpreter lock (0: in the serving process)")
    p.add_argument("--band-cache-mb", type=_cache_mb, default=None, metavar="MB",
                   help="procedural engine: the band's note cache, in each band process "
                        f"with --band-processes (default {NOTE_CACHE_MB}); sessions that each "
                        "play their own blend miss it less, and cost less, with more")
    p.add_argument("--band-chunk-ms", type=_chunk_ms, default=None, metavar="MS",
                   help=f"procedural engine: audio per generation step and per streamed "
                        f"chunk (a multiple of {BAND_BLOCK_MS}, default {BAND_BLOCK_MS}); "
                        "longer chunks cost the server and clients less per second of audio "
                        "(more sessions per core); the blend is evaluated once a chunk, so "
                        "state updates land up to one chunk later (quantized changes still "
                        "on their beat)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (0.0.0.0: every interface; then use a token)")
    p.add_argument("--grpc-port", type=int, default=50051,
                   help="gRPC port (the SDKs; 0: any free port)")
    p.add_argument("--ws-port", type=int, default=8765,
                   help="WebSocket bridge port (browsers, engines without gRPC; 0: any free port)")
    auth = p.add_mutually_exclusive_group()
    auth.add_argument("--token", help="require 'authorization: Bearer TOKEN' on every call")
    auth.add_argument("--token-file", help="read the token from this file")
    p.add_argument("--tls-cert", help="PEM certificate (enables TLS on gRPC and WebSocket)")
    p.add_argument("--tls-key", help="PEM private key (with --tls-cert)")
    p.add_argument("--lookahead", type=float, default=0.5,
                   help="seconds of audio generated ahead of real time")
    p.add_argument("--max-sessions", default="auto", type=_max_sessions,
                   help="'auto': admit sessions while the engine's measured capacity holds them "
                        "in real time (RESOURCE_EXHAUSTED with a retry hint beyond); a number "
                        "also caps them")
    p.add_argument("--no-admission", action="store_true",
                   help="admit sessions up to --max-sessions even beyond the measured capacity "
                        "(for capacity benchmarks)")
    p.add_argument("--idle-timeout", type=float, default=60.0,
                   help="close sessions nobody has streamed for this many seconds")
    p.add_argument("--record", metavar="DIR",
                   help="write a recording of every session into DIR (see cadenza replay)")
    p.add_argument("--assets", metavar="DIR",
                   help="the only folder audio files named by clients' inline scenes may come "
                        "from (default: none, such scenes may not name audio files)")
    p.add_argument("--console-port", type=int, default=8080,
                   help="port of the web console, /metrics, /healthz and /readyz (0: no console)")
    p.add_argument("--metrics-per-session", action="store_true",
                   help="also export per-session series on /metrics (small servers only)")
    p.add_argument("--chaos", metavar="SPEC",
                   help="TESTING AID: inject engine faults, e.g. 'stall=300ms,every=2s', "
                        "'fail=0.01', 'fail=1,seed=666' (that session's rows), "
                        "'hang=5s,after=30s', 'slow=1.5x'; see docs/when-the-model-is-late.md")
    p.add_argument("--chaos-force", action="store_true",
                   help="allow --chaos with a non-loopback --host")
    mrt = p.add_argument_group("magenta-rt2 engine")
    mrt.add_argument("--codec", default="auto", choices=["auto", "bf16", "fp32", "tf32"],
                     help="SpectroStream decoder precision (auto: bf16 on a GPU/TPU, fp32 on a CPU)")
    mrt.add_argument("--frames-per-call", type=int, default=5, choices=range(1, 6),
                     metavar="K", help="40 ms frames generated per batched call (1-5)")
    mrt.add_argument("--precompile", default="all", metavar="SIZES",
                     help="batch buckets compiled before serving: 'all' (up to --max-sessions), "
                          "'none', or sizes like 1,8,64")
    from .cluster.cli import add_serve_flags

    add_serve_flags(p)  # --cluster, --advertise, --opus-bitrate (docs/cluster.md)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("engines", help="list the engines and what they support",
                       epilog="example:\n  cadenza engines")
    p.set_defaults(func=cmd_engines)

    p = sub.add_parser("replay", help="render a session recording again, or compare renders",
                       description="cadenza replay REC --out OUT.wav | "
                                   "cadenza replay --diff A.wav B.wav [--rec REC]")
    p.add_argument("recording", nargs="?", help="a .cadrec file written by serve --record")
    p.add_argument("--out", help="output WAV")
    p.add_argument("--subtype", default="PCM_16", choices=["PCM_16", "PCM_24", "FLOAT"],
                   help="WAV sample format")
    p.add_argument("--diff", nargs=2, metavar=("A.wav", "B.wav"),
                   help="report the first sample where two renders differ")
    p.add_argument("--rec", help="with --diff: the recording, to show the blend at that moment")
    p.set_defaults(func=cmd_replay)

    from .engines.magenta_rt2.cli import add_parsers as add_model_parsers

    add_model_parsers(sub)  # models download|list (docs/magenta.md)

    from .installation.cli import add_parsers as add_installation_parsers

    add_installation_parsers(sub)  # run CONFIG, service install (docs/installations.md)

    from .prompt_cli import add_parser as add_prompt_parser

    add_prompt_parser(sub)  # prompt "..." [--json]: what the built-in band hears

    from .cluster.cli import add_parsers as add_cluster_parsers

    add_cluster_parsers(sub)  # cluster envoy-config|up|status (docs/cluster.md)
    _finish(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "models" and not _importable("huggingface_hub"):
        print("cadenza models needs huggingface_hub, part of the Magenta extra: "
              "pip install 'cadenza[magenta]' (pip install -e '.[magenta]' in a checkout)",
              file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except SceneError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    except CadenzaError as exc:
        if args.verbose:
            raise
        print(f"cadenza: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `cadenza ... | head`: the reader left. Python would print a traceback while
        # flushing stdout at exit; point stdout at /dev/null and exit as SIGPIPE would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13
    except OSError as exc:  # a file or port the user named: one line, not a traceback
        if args.verbose:
            raise
        print(f"cadenza: {_os_error(exc)}", file=sys.stderr)
        return 2


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    hint = {errno.ENOENT: "check the path", errno.EACCES: "check its permissions (or run as "
            "its owner)", errno.EADDRINUSE: "another program holds that port; choose another "
            "port or stop it"}.get(exc.errno or 0, "")
    return f"{where}{exc.strerror or exc}" + (f"; {hint}" if hint else "")


if __name__ == "__main__":
    sys.exit(main())
