"""What a scene asks of an engine that the engine will not honour (warnings, not errors)."""

from __future__ import annotations

from .engines.base import Engine, Prompt
from .scene import Scene


def engine_warnings(scene: Scene, engine: Engine) -> list[str]:
    out = []
    info = engine.info
    for name, prompt in scene.prompts.items():
        if prompt.kind not in info.prompt_kinds:
            out.append(f"prompt {name!r} is an {prompt.kind} prompt; engine {info.name!r} takes "
                       f"{', '.join(sorted(info.prompt_kinds))}")
            continue
        if prompt.text is not None:
            unknown = engine.embed(Prompt(text=prompt.text)).unknown_words
            if unknown:
                out.append(f"prompt {name!r}: engine {info.name!r} does not know "
                           f"{', '.join(repr(w) for w in unknown)}")
    time = scene.time
    if (time.beats_per_bar, time.beat_unit) != (4, 4) and not info.has_beat_grid:
        out.append(f"signature {time.beats_per_bar}/{time.beat_unit} sets the clock only: engine "
                   f"{info.name!r} does not follow a meter (say it in the prompts, e.g. 'waltz')")
    for knob in scene.knobs:
        if knob.kind == "extra":
            continue  # engine-specific conditioning: the engine validates it
        if knob.name not in info.knobs:
            out.append(f"knob {knob.name!r} is not supported by engine {info.name!r}")
    return out
