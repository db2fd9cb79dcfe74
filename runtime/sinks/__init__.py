"""Sinks: where a session's chunks go besides the network (files, sound cards)."""

from .wav import WavSink

__all__ = ["WavSink"]
