"""The session lifecycle, as one table.

    CREATED --play--> PLAYING --pause--> PAUSED --play--> PLAYING
    any live state --close--> CLOSED;  PLAYING/PAUSED --fail--> FAILED --close--> CLOSED

``reset`` is legal while live and does not change the state. Transports never decide
legality themselves: they call `next_state` and map its error.
"""

from __future__ import annotations

from enum import StrEnum

from ..errors import FailedPrecondition


class SessionState(StrEnum):
    CREATED = "created"
    PLAYING = "playing"
    PAUSED = "paused"
    FAILED = "failed"
    CLOSED = "closed"

    @property
    def live(self) -> bool:
        return self in (SessionState.CREATED, SessionState.PLAYING, SessionState.PAUSED)


_S = SessionState
TRANSITIONS: dict[tuple[SessionState, str], SessionState] = {
    (_S.CREATED, "play"): _S.PLAYING,
    (_S.PLAYING, "play"): _S.PLAYING,
    (_S.PAUSED, "play"): _S.PLAYING,
    (_S.CREATED, "pause"): _S.PAUSED,
    (_S.PLAYING, "pause"): _S.PAUSED,
    (_S.PAUSED, "pause"): _S.PAUSED,
    (_S.CREATED, "reset"): _S.CREATED,
    (_S.PLAYING, "reset"): _S.PLAYING,
    (_S.PAUSED, "reset"): _S.PAUSED,
    (_S.PLAYING, "fail"): _S.FAILED,
    (_S.PAUSED, "fail"): _S.FAILED,
    (_S.CREATED, "fail"): _S.FAILED,
    (_S.CREATED, "close"): _S.CLOSED,
    (_S.PLAYING, "close"): _S.CLOSED,
    (_S.PAUSED, "close"): _S.CLOSED,
    (_S.FAILED, "close"): _S.CLOSED,
    (_S.CLOSED, "close"): _S.CLOSED,
}


def next_state(state: SessionState, event: str) -> SessionState:
    """The state after ``event``; raises FailedPrecondition when it is not allowed."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise FailedPrecondition(f"cannot {event} a session that is {state.value}") from None
