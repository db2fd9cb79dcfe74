"""How big a scene (or timeline) may be: every bound the compiler enforces, in one place.

Scenes come from level designers' files and, inline, from game clients; some will be
hostile. Each limit turns into a precise ``file:line field: message`` issue, never into
unbounded memory, recursion or time. The defaults are documented in docs/scenes.md
("Limits"); a server takes its own from `RuntimeConfig.scene_limits`.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DEPTH = 64  # the most either depth limit may be set to


@dataclass(frozen=True)
class SceneLimits:
    max_bytes: int = 256 * 1024       # UTF-8 size of the whole YAML text
    max_yaml_nodes: int = 20_000      # values after alias and merge (<<) expansion
    max_yaml_depth: int = 32          # nested mappings/lists
    max_number_digits: int = 40       # digits in one number literal (YAML or expression)
    max_expr_tokens: int = 4_096      # tokens in one expression (a 1,000-term sum is ~2,000)
    max_expr_depth: int = 32          # nested (), if/else, not, unary '-' in one expression
    max_prompts: int = 64             # prompts in one scene
    max_stingers: int = 64            # stingers in one scene
    max_inputs: int = 256             # inputs plus derived values
    max_name_chars: int = 64          # a prompt, input, stinger or derived name
    max_scene_name_chars: int = 128   # the 'scene:' name
    max_text_chars: int = 2_000       # a prompt text, a description
    max_timeline_events: int = 10_000  # events in one render timeline

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"scene limit {name} must be a positive whole number")
        # Parsing recurses once per level (a handful of frames each): keep far from
        # Python's recursion limit whatever a server configures.
        for name, most in (("max_yaml_depth", MAX_DEPTH), ("max_expr_depth", MAX_DEPTH)):
            if getattr(self, name) > most:
                raise ValueError(f"scene limit {name} is at most {most}")


DEFAULT_LIMITS = SceneLimits()
