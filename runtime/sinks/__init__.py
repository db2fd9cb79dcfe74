"""Sinks: where a session's chunks go besides the network (files, sound cards)."""

from .device import DeviceSink, PlayoutBuffer
from .rotating import RotatingWavSink
from .wav import WavSink

__all__ = ["DeviceSink", "PlayoutBuffer", "RotatingWavSink", "WavSink"]
