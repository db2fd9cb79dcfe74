"""`cadenza models download|list`: Magenta RealTime 2 weights (no JAX needed)."""

from __future__ import annotations

import argparse

from . import models


def cmd_download(args: argparse.Namespace) -> int:
    print(f"downloading {args.name} and the MusicCoCa/SpectroStream resources from "
          f"{models.REPO} (resumable; Ctrl-C and run again to resume)")
    files = models.download(args.name, token=args.token, cache_dir=args.cache_dir)
    print(f"{args.name}: {files.checkpoint}")
    print(f"serve it with: cadenza serve --engine magenta-rt2 --model {args.name}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for name, status, where in models.listing(args.cache_dir):
        print(f"{name:<11} {status:<40} {where}")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("models", help="download and list Magenta RealTime 2 weights")
    models_sub = p.add_subparsers(dest="models_command", required=True)
    d = models_sub.add_parser("download", help="fetch a model into the Hugging Face cache")
    d.add_argument("name", choices=sorted(models.MODELS))
    d.add_argument("--token", help="Hugging Face token for gated access (default: $HF_TOKEN "
                                   "or the one saved by 'hf auth login')")
    d.add_argument("--cache-dir", help="where to keep the files (default: the Hugging Face cache)")
    d.set_defaults(func=cmd_download)
    s = models_sub.add_parser("list", help="show which models are present")
    s.add_argument("--cache-dir", help="the cache folder given to 'models download'")
    s.set_defaults(func=cmd_list)
