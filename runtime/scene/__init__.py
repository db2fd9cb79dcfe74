"""The scene language: YAML in, a frozen compiled scene out, and its pure evaluation.

    compile_scene(text, filename) -> Scene            (raises SceneError with every issue)
    SceneEvaluator(scene).evaluate(inputs, t) -> Blend (pure given its own smoothing state)

See docs/scenes.md for the language reference.
"""

from .compiler import compile_scene, load_scene
from .evaluator import SceneEvaluator
from .model import Blend, Scene

__all__ = ["Blend", "Scene", "SceneEvaluator", "compile_scene", "load_scene"]
