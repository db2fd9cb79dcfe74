"""The client side of one audio stream, shared by the sync and asyncio clients: what to
attach with, which messages to hand out, when to stop, and how long to wait before a
reconnect. No I/O here."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import grpc

from cadenza.v1 import runtime_pb2 as pb

from ._opus import OpusStreamDecoder
from .errors import RETRYABLE, CadenzaError
from .types import BEAT_EVENTS, ENCODINGS, AudioChunk, Event


class StreamCursor:
    """Tracks a stream across reconnects: resumes from the next ``seq``, skips chunks
    already handed out, stops after ``seconds`` of audio or at the session's end."""

    def __init__(self, session, encoding: str, seconds: float | None,
                 on_event: Callable[[Event], None] | None, reconnect: bool, max_retries: int,
                 resume_from_seq: int | None, beat_events: str | None) -> None:
        if encoding not in ENCODINGS:
            raise ValueError("encoding is 's16le', 'f32le' or 'opus' (decoded to s16le)")
        if beat_events not in BEAT_EVENTS:
            raise ValueError("beat_events is None, 'beats' or 'bars'")
        self.session = session
        self.encoding = encoding
        self.seconds = seconds
        self.on_event = on_event
        self.reconnect = reconnect
        self.max_retries = max_retries
        self.beat_events = beat_events
        self.next_seq = resume_from_seq if resume_from_seq is not None else session.next_seq
        self.frames_left: int | None = None
        self.retries = 0
        self.moved = 0  # "moved" answers in a row (a cluster hands the session over)
        self.done = False
        self.opus = OpusStreamDecoder() if encoding == "opus" else None

    def attach(self) -> pb.ClientMessage:
        attach = pb.Attach(session_id=self.session.id, encoding=ENCODINGS[self.encoding],
                           beat_events=BEAT_EVENTS[self.beat_events])
        if self.next_seq is not None:
            attach.resume_from_seq = self.next_seq
        return pb.ClientMessage(attach=attach)

    def accept(self, message: pb.ServerMessage) -> AudioChunk | None:
        """The chunk to hand out for ``message`` (None for anything else); sets ``done``
        when the stream should end after it."""
        kind = message.WhichOneof("message")
        if kind == "audio":
            chunk = AudioChunk.from_pb(message.audio)
            if self.next_seq is not None and chunk.seq < self.next_seq:
                return None  # already delivered before a reconnect
            if self.opus is not None and chunk.encoding == "opus":
                at, pcm = self.opus.decode(chunk.stream_time, chunk.pcm)
                chunk = dataclasses.replace(chunk, stream_time=at, encoding="s16le", pcm=pcm,
                                            wire_bytes=len(chunk.pcm))
            self.next_seq = self.session.next_seq = chunk.seq + 1
            self.retries = self.moved = 0
            if self.seconds is not None:
                if self.frames_left is None:
                    self.frames_left = int(self.seconds * chunk.sample_rate)
                self.frames_left -= chunk.frames
                self.done = self.frames_left <= 0
            return chunk
        if kind == "event":
            event = Event.from_pb(message.event)
            if self.on_event:
                self.on_event(event)
            self.done = event.kind == "ended"
        return None

    def retry_after(self, exc: grpc.RpcError) -> float:
        """Seconds to wait before reconnecting after ``exc``; raises when it is final."""
        error = CadenzaError.from_rpc(exc, self.session.client.address)
        # A proxy (Envoy) resets the stream when the worker behind it dies: that is a
        # dropped connection like any other (the cluster restores the session elsewhere).
        dropped = (error.code == "INTERNAL" and "RST_STREAM" in error.message) or (
            error.code == "RESOURCE_EXHAUSTED" and "reconnect with resume_from_seq" in error.message)
        if self.reconnect and error.code == "UNAVAILABLE" and error.message.startswith("moved"):
            self.moved += 1  # a cluster is restoring the session elsewhere: ask again soon
            if self.moved <= 60:
                return 0.1
        if not self.reconnect or (error.code not in RETRYABLE and not dropped) or \
                self.retries >= self.max_retries:
            raise error from None
        self.retries += 1
        # A dropped stream is asked for again almost at once (a cluster has restored the
        # session elsewhere within about half a second), then backing off from 0.2 s.
        return 0.05 if self.retries == 1 else min(5.0, 0.2 * 2 ** (self.retries - 2))
