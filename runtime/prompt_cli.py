"""`cadenza prompt "..." [--json]`: what the built-in band hears in a text prompt.

Prints the terms found, the unknown words that were mapped (word -> terms), the words
with no mapping, and the resulting style dimensions. ``--json`` prints one object with
the keys ``terms``, ``mapped``, ``unknown`` and ``dimensions``. Pure: no engine, no audio.
"""

from __future__ import annotations

import argparse
import json

from .engines.procedural import lexicon, style


def describe(text: str) -> dict:
    """The band's reading of ``text`` as plain JSON-able data."""
    parsed = lexicon.parse(text)
    return {
        "terms": list(parsed.terms),
        "mapped": {word: list(terms) for word, terms in parsed.mapped.items()},
        "unknown": list(parsed.unknown_words),
        "dimensions": {name: round(value, 4) for name, value in style.as_dict(parsed.vector).items()},
    }


def cmd_prompt(args: argparse.Namespace) -> int:
    result = describe(args.text)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("terms:    " + (", ".join(result["terms"]) or "(none)"))
    for word, terms in result["mapped"].items():
        print(f"mapped:   {word} -> {' + '.join(terms)}")
    print("unknown:  " + (", ".join(result["unknown"]) or "(none)"))
    print("dimensions (* = moved from neutral):")
    for dim in style.DIMS:
        value = result["dimensions"][dim.name]
        mark = "*" if abs(value - dim.neutral) > 1e-6 else " "
        print(f"  {mark} {dim.name:<11} {value:8.2f}   {dim.doc}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("prompt", help="show what the built-in band hears in a text prompt")
    p.add_argument("text", help='the prompt, e.g. "celtic fiddle and bodhran tavern jig"')
    p.add_argument("--json", action="store_true", help="print terms, mapped, unknown and "
                                                        "dimensions as JSON")
    p.set_defaults(func=cmd_prompt)
