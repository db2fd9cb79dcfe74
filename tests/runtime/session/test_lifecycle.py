import pytest

from cadenza.runtime.errors import FailedPrecondition
from cadenza.runtime.session.lifecycle import TRANSITIONS, SessionState, next_state

S = SessionState


def test_the_table_is_the_lifecycle():
    assert next_state(S.CREATED, "play") is S.PLAYING
    assert next_state(S.PLAYING, "pause") is S.PAUSED
    assert next_state(S.PAUSED, "play") is S.PLAYING
    assert next_state(S.PLAYING, "fail") is S.FAILED
    assert next_state(S.FAILED, "close") is S.CLOSED
    assert all(next_state(s, "close") is S.CLOSED for s in S)


@pytest.mark.parametrize("state,event", [(S.CLOSED, "play"), (S.FAILED, "play"),
                                         (S.CLOSED, "reset"), (S.FAILED, "pause")])
def test_illegal_moves_are_refused_with_a_reason(state, event):
    assert (state, event) not in TRANSITIONS
    with pytest.raises(FailedPrecondition, match=f"cannot {event} a session that is {state.value}"):
        next_state(state, event)
