"""Sensor inputs: OSC and MQTT readings bound to scene inputs.

    bytes --(payload / osc_codec: pure)--> Reading | Command | Rejected
          --(router: validate with the scene, count, log, silence fallback)--> Session

`osc` and `mqtt` are the I/O layers (a UDP endpoint on the event loop; paho-mqtt's
network thread handing messages over through a bounded queue). See docs/installations.md.
"""

from .binding import Binding, BindingStats, Command, Reading, Rejected
from .router import InputRouter, InputTarget, SourceStats

__all__ = ["Binding", "BindingStats", "Command", "InputRouter", "InputTarget", "Reading",
           "Rejected", "SourceStats"]
