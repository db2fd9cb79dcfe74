"""The WebSocket codec, sans I/O: strings and bytes in, typed messages out."""

from __future__ import annotations

import struct

import pytest

from cadenza.runtime.transports.websocket import protocol as P


def test_audio_frame_layout_matches_the_spec():
    frame = P.encode_audio(seq=7, stream_time=16800, sample_rate=48000, channels=2,
                           encoding="s16le", pcm=b"\x01\x00\xff\xff")
    assert len(frame) == 32 + 4
    assert frame[0:4] == b"CDZA"
    assert struct.unpack_from("<H", frame, 4)[0] == 1  # version
    assert struct.unpack_from("<H", frame, 6)[0] == 32  # header size
    assert struct.unpack_from("<Q", frame, 8)[0] == 7  # seq
    assert struct.unpack_from("<Q", frame, 16)[0] == 16800  # stream time
    assert struct.unpack_from("<I", frame, 24)[0] == 48000  # sample rate
    assert frame[28] == 2 and frame[29] == 1  # channels, encoding (1 = s16le)
    assert struct.unpack_from("<H", frame, 30)[0] == 0  # flags
    decoded = P.decode_audio(frame)
    assert (decoded.seq, decoded.stream_time, decoded.encoding, decoded.frames) == (7, 16800,
                                                                                   "s16le", 1)


@pytest.mark.parametrize("data,message", [
    (b"CDZ", "shorter than its 32-byte header"),
    (b"XXXX" + bytes(28), "bad magic"),
    (P.HEADER.pack(b"CDZA", 9, 32, 0, 0, 48000, 2, 1, 0), "unsupported frame version 9"),
    (P.HEADER.pack(b"CDZA", 1, 32, 0, 0, 48000, 2, 7, 0), "unknown encoding 7"),
])
def test_bad_audio_frames_are_rejected(data, message):
    with pytest.raises(P.ProtocolError, match=message):
        P.decode_audio(data)


def test_client_messages_parse_into_types():
    assert P.parse_client('{"type":"create","scene":"dungeon","seed":3,"state":{"danger":0.5},'
                          '"encoding":"f32le","id":1}') == P.Create(
        scene="dungeon", seed=3, state={"danger": 0.5}, encoding="f32le", id=1)
    assert P.parse_client('{"type":"attach","session_id":"abc","resume_from_seq":12}') == \
        P.Attach("abc", "s16le", 12)
    assert P.parse_client('{"type":"state","values":{"biome":"cave","on":true},"id":2}') == \
        P.State({"biome": "cave", "on": True}, 2)
    assert P.parse_client('{"type":"prompts","prompts":{"dark techno":1}}') == \
        P.Prompts({"dark techno": 1.0})
    assert P.parse_client('{"type":"prompts","prompts":[{"text":"a","weight":2}]}') == \
        P.Prompts({"a": 2.0})
    assert P.parse_client('{"type":"control","action":"reset","id":9}') == P.Control("reset", 9)
    assert P.parse_client('{"type":"ping","id":5}') == P.Ping(5)


@pytest.mark.parametrize("text,field,message", [
    ("not json", "frame", "not valid JSON"),
    ("[1, 2]", "type", "a message is a JSON object"),
    ('{"type":"dance"}', "type", "unknown message type 'dance'"),
    ('{"type":"state","values":{"danger":NaN}}', "frame", "NaN is not a number here"),
    ('{"type":"state","values":[1]}', "values", "'values' must be an object"),
    ('{"type":"state","values":{"danger":[1]}}', "danger", "input 'danger' must be a number"),
    ('{"type":"control","action":"explode"}', "action", "'action' must be one of play, pause"),
    ('{"type":"create"}', "scene", "give exactly one of 'scene'"),
    ('{"type":"create","scene":"a","seed":-1}', "seed", "'seed' must be a whole number"),
    ('{"type":"create","scene":"a","encoding":"mp3"}', "encoding", "encoding must be s16le"),
    ('{"type":"attach"}', "session_id", "'session_id' is required"),
    ('{"type":"prompts","prompts":{"a":"loud"}}', "prompts[a]", "weight of prompt 'a'"),
    ('{"type":"ping","id":-4}', "id", "'id' must be a whole number"),
    ('[' * 100_000 + ']' * 100_000, "frame", "not valid JSON"),
])
def test_bad_client_messages_raise_protocol_errors_only(text, field, message):
    with pytest.raises(P.ProtocolError) as info:
        P.parse_client(text)
    assert info.value.field == field
    assert message in str(info.value)


def test_binary_frames_from_clients_are_refused():
    with pytest.raises(P.ProtocolError, match="JSON text frames"):
        P.parse_client(b"\x00\x01")


def test_error_ids_are_echoed():
    with pytest.raises(P.ProtocolError) as info:
        P.parse_client('{"type":"control","action":"nope","id":77}')
    assert info.value.id == 77
    assert P.encode_error("bad", "invalid_argument", "action", 77) == (
        '{"type":"error","code":"invalid_argument","message":"bad","field":"action","id":77}')
