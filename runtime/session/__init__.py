"""Sessions and the generation loop that feeds them."""

from .chunk import Chunk, EventKind, SessionEvent
from .lifecycle import SessionState
from .loop import GenerationLoop
from .session import Session
from .styles import StyleCache

__all__ = ["Chunk", "EventKind", "GenerationLoop", "Session", "SessionEvent", "SessionState",
           "StyleCache"]
