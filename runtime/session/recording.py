"""Session recordings: everything needed to render a session again, one JSON per line.

The first line is a header (scene YAML and its hash, engine name and version, seed, block
size); every later line is one thing that happened to the session at a stream time in
samples: a state update, a prompt override, a stinger trigger, a control, a scene swap.
The last line (when the session ended cleanly) is ``{"end": stream_time}``. A designer's
bug report becomes one file: `cadenza replay` renders it again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

FORMAT = "cadenza-recording/1"


def scene_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Recording:
    header: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    end: int | None = None

    @property
    def scene_yaml(self) -> str:
        return self.header["scene"]["yaml"]


class Recorder:
    """Appends a session's history to a file; flushed line by line (a crash loses nothing
    already written)."""

    def __init__(self, path: str | Path, header: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = self.path.open("w", encoding="utf-8")
        self._write({"format": FORMAT,
                     "created": datetime.datetime.now(datetime.UTC).isoformat(), **header})

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
        self._file.flush()

    def event(self, t: int, kind: str, **data: Any) -> None:
        self._write({"t": int(t), "type": kind, **data})

    def close(self, end: int) -> None:
        if self._file is not None:
            self._write({"end": int(end)})
            self._file.close()
            self._file = None


def load_recording(path: str | Path) -> Recording:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ValueError(f"{path}: empty recording")
    header = json.loads(lines[0])
    if header.get("format") != FORMAT:
        raise ValueError(f"{path}: not a Cadenza recording (format {header.get('format')!r})")
    recording = Recording(header)
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        record = json.loads(line)
        if "end" in record:
            recording.end = int(record["end"])
        elif "t" in record and "type" in record:
            recording.events.append(record)
        else:
            raise ValueError(f"{path}:{number}: not a recording event")
    return recording
