from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCODING_UNSPECIFIED: _ClassVar[Encoding]
    PCM_S16LE: _ClassVar[Encoding]
    PCM_F32LE: _ClassVar[Encoding]
    OPUS: _ClassVar[Encoding]

class SessionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATE_UNSPECIFIED: _ClassVar[SessionState]
    CREATED: _ClassVar[SessionState]
    PLAYING: _ClassVar[SessionState]
    PAUSED: _ClassVar[SessionState]
    FAILED: _ClassVar[SessionState]
    CLOSED: _ClassVar[SessionState]

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    PLAY: _ClassVar[Action]
    PAUSE: _ClassVar[Action]
    STOP: _ClassVar[Action]
    RESET_CONTEXT: _ClassVar[Action]

class BeatEvents(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BEAT_EVENTS_NONE: _ClassVar[BeatEvents]
    BEAT_EVENTS_BEATS: _ClassVar[BeatEvents]
    BEAT_EVENTS_BARS: _ClassVar[BeatEvents]

class Scale(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCALE_UNSPECIFIED: _ClassVar[Scale]
    C_MAJOR_A_MINOR: _ClassVar[Scale]
    D_FLAT_MAJOR_B_FLAT_MINOR: _ClassVar[Scale]
    D_MAJOR_B_MINOR: _ClassVar[Scale]
    E_FLAT_MAJOR_C_MINOR: _ClassVar[Scale]
    E_MAJOR_D_FLAT_MINOR: _ClassVar[Scale]
    F_MAJOR_D_MINOR: _ClassVar[Scale]
    G_FLAT_MAJOR_E_FLAT_MINOR: _ClassVar[Scale]
    G_MAJOR_E_MINOR: _ClassVar[Scale]
    A_FLAT_MAJOR_F_MINOR: _ClassVar[Scale]
    A_MAJOR_G_FLAT_MINOR: _ClassVar[Scale]
    B_FLAT_MAJOR_G_MINOR: _ClassVar[Scale]
    B_MAJOR_A_FLAT_MINOR: _ClassVar[Scale]

class GenerationMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENERATION_MODE_UNSPECIFIED: _ClassVar[GenerationMode]
    QUALITY: _ClassVar[GenerationMode]
    DIVERSITY: _ClassVar[GenerationMode]
    VOCALIZATION: _ClassVar[GenerationMode]
ENCODING_UNSPECIFIED: Encoding
PCM_S16LE: Encoding
PCM_F32LE: Encoding
OPUS: Encoding
SESSION_STATE_UNSPECIFIED: SessionState
CREATED: SessionState
PLAYING: SessionState
PAUSED: SessionState
FAILED: SessionState
CLOSED: SessionState
ACTION_UNSPECIFIED: Action
PLAY: Action
PAUSE: Action
STOP: Action
RESET_CONTEXT: Action
BEAT_EVENTS_NONE: BeatEvents
BEAT_EVENTS_BEATS: BeatEvents
BEAT_EVENTS_BARS: BeatEvents
SCALE_UNSPECIFIED: Scale
C_MAJOR_A_MINOR: Scale
D_FLAT_MAJOR_B_FLAT_MINOR: Scale
D_MAJOR_B_MINOR: Scale
E_FLAT_MAJOR_C_MINOR: Scale
E_MAJOR_D_FLAT_MINOR: Scale
F_MAJOR_D_MINOR: Scale
G_FLAT_MAJOR_E_FLAT_MINOR: Scale
G_MAJOR_E_MINOR: Scale
A_FLAT_MAJOR_F_MINOR: Scale
A_MAJOR_G_FLAT_MINOR: Scale
B_FLAT_MAJOR_G_MINOR: Scale
B_MAJOR_A_FLAT_MINOR: Scale
GENERATION_MODE_UNSPECIFIED: GenerationMode
QUALITY: GenerationMode
DIVERSITY: GenerationMode
VOCALIZATION: GenerationMode

class Value(_message.Message):
    __slots__ = ("number", "text", "flag")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FLAG_FIELD_NUMBER: _ClassVar[int]
    number: float
    text: str
    flag: bool
    def __init__(self, number: _Optional[float] = ..., text: _Optional[str] = ..., flag: _Optional[bool] = ...) -> None: ...

class BlendEntry(_message.Message):
    __slots__ = ("name", "text", "weight")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    name: str
    text: str
    weight: float
    def __init__(self, name: _Optional[str] = ..., text: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class WeightedPrompt(_message.Message):
    __slots__ = ("text", "weight")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    text: str
    weight: float
    def __init__(self, text: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("scene", "scene_yaml", "engine", "seed", "state", "paused", "record")
    class StateEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...
    SCENE_FIELD_NUMBER: _ClassVar[int]
    SCENE_YAML_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    scene: str
    scene_yaml: str
    engine: str
    seed: int
    state: _containers.MessageMap[str, Value]
    paused: bool
    record: bool
    def __init__(self, scene: _Optional[str] = ..., scene_yaml: _Optional[str] = ..., engine: _Optional[str] = ..., seed: _Optional[int] = ..., state: _Optional[_Mapping[str, Value]] = ..., paused: _Optional[bool] = ..., record: _Optional[bool] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[SessionInfo]
    def __init__(self, sessions: _Optional[_Iterable[_Union[SessionInfo, _Mapping]]] = ...) -> None: ...

class CloseSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class CloseSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SessionInfo(_message.Message):
    __slots__ = ("session_id", "scene", "engine", "seed", "state", "sample_rate", "channels", "seq", "stream_time", "inputs", "blend", "underruns", "listeners", "uptime_seconds", "input_names", "error", "clock", "stingers", "recording", "heard_bpm", "config")
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STREAM_TIME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    BLEND_FIELD_NUMBER: _ClassVar[int]
    UNDERRUNS_FIELD_NUMBER: _ClassVar[int]
    LISTENERS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    INPUT_NAMES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    STINGERS_FIELD_NUMBER: _ClassVar[int]
    RECORDING_FIELD_NUMBER: _ClassVar[int]
    HEARD_BPM_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    scene: str
    engine: str
    seed: int
    state: SessionState
    sample_rate: int
    channels: int
    seq: int
    stream_time: int
    inputs: _containers.MessageMap[str, Value]
    blend: _containers.RepeatedCompositeFieldContainer[BlendEntry]
    underruns: int
    listeners: int
    uptime_seconds: float
    input_names: _containers.RepeatedScalarFieldContainer[str]
    error: str
    clock: BeatInfo
    stingers: _containers.RepeatedScalarFieldContainer[str]
    recording: str
    heard_bpm: float
    config: GenerationConfig
    def __init__(self, session_id: _Optional[str] = ..., scene: _Optional[str] = ..., engine: _Optional[str] = ..., seed: _Optional[int] = ..., state: _Optional[_Union[SessionState, str]] = ..., sample_rate: _Optional[int] = ..., channels: _Optional[int] = ..., seq: _Optional[int] = ..., stream_time: _Optional[int] = ..., inputs: _Optional[_Mapping[str, Value]] = ..., blend: _Optional[_Iterable[_Union[BlendEntry, _Mapping]]] = ..., underruns: _Optional[int] = ..., listeners: _Optional[int] = ..., uptime_seconds: _Optional[float] = ..., input_names: _Optional[_Iterable[str]] = ..., error: _Optional[str] = ..., clock: _Optional[_Union[BeatInfo, _Mapping]] = ..., stingers: _Optional[_Iterable[str]] = ..., recording: _Optional[str] = ..., heard_bpm: _Optional[float] = ..., config: _Optional[_Union[GenerationConfig, _Mapping]] = ...) -> None: ...

class BeatInfo(_message.Message):
    __slots__ = ("beat", "bar", "beat_in_bar", "phase", "bpm", "beats_per_bar", "beat_unit")
    BEAT_FIELD_NUMBER: _ClassVar[int]
    BAR_FIELD_NUMBER: _ClassVar[int]
    BEAT_IN_BAR_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    BPM_FIELD_NUMBER: _ClassVar[int]
    BEATS_PER_BAR_FIELD_NUMBER: _ClassVar[int]
    BEAT_UNIT_FIELD_NUMBER: _ClassVar[int]
    beat: float
    bar: int
    beat_in_bar: int
    phase: float
    bpm: float
    beats_per_bar: int
    beat_unit: int
    def __init__(self, beat: _Optional[float] = ..., bar: _Optional[int] = ..., beat_in_bar: _Optional[int] = ..., phase: _Optional[float] = ..., bpm: _Optional[float] = ..., beats_per_bar: _Optional[int] = ..., beat_unit: _Optional[int] = ...) -> None: ...

class ClientMessage(_message.Message):
    __slots__ = ("request_id", "attach", "state", "prompts", "control", "trigger", "config")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ATTACH_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    attach: Attach
    state: StateUpdate
    prompts: PromptOverride
    control: ControlCommand
    trigger: StingerTrigger
    config: GenerationConfigUpdate
    def __init__(self, request_id: _Optional[int] = ..., attach: _Optional[_Union[Attach, _Mapping]] = ..., state: _Optional[_Union[StateUpdate, _Mapping]] = ..., prompts: _Optional[_Union[PromptOverride, _Mapping]] = ..., control: _Optional[_Union[ControlCommand, _Mapping]] = ..., trigger: _Optional[_Union[StingerTrigger, _Mapping]] = ..., config: _Optional[_Union[GenerationConfigUpdate, _Mapping]] = ...) -> None: ...

class Attach(_message.Message):
    __slots__ = ("session_id", "encoding", "resume_from_seq", "beat_events")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    RESUME_FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    BEAT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    encoding: Encoding
    resume_from_seq: int
    beat_events: BeatEvents
    def __init__(self, session_id: _Optional[str] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., resume_from_seq: _Optional[int] = ..., beat_events: _Optional[_Union[BeatEvents, str]] = ...) -> None: ...

class StateUpdate(_message.Message):
    __slots__ = ("values",)
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.MessageMap[str, Value]
    def __init__(self, values: _Optional[_Mapping[str, Value]] = ...) -> None: ...

class PromptOverride(_message.Message):
    __slots__ = ("prompts",)
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    prompts: _containers.RepeatedCompositeFieldContainer[WeightedPrompt]
    def __init__(self, prompts: _Optional[_Iterable[_Union[WeightedPrompt, _Mapping]]] = ...) -> None: ...

class ControlCommand(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: Action
    def __init__(self, action: _Optional[_Union[Action, str]] = ...) -> None: ...

class StingerTrigger(_message.Message):
    __slots__ = ("stinger",)
    STINGER_FIELD_NUMBER: _ClassVar[int]
    stinger: str
    def __init__(self, stinger: _Optional[str] = ...) -> None: ...

class GenerationConfigUpdate(_message.Message):
    __slots__ = ("config", "clear")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    config: GenerationConfig
    clear: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, config: _Optional[_Union[GenerationConfig, _Mapping]] = ..., clear: _Optional[_Iterable[str]] = ...) -> None: ...

class ServerMessage(_message.Message):
    __slots__ = ("attached", "audio", "event", "ack")
    ATTACHED_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    attached: SessionInfo
    audio: AudioChunk
    event: Event
    ack: Ack
    def __init__(self, attached: _Optional[_Union[SessionInfo, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., event: _Optional[_Union[Event, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("session_id", "seq", "stream_time", "sample_rate", "channels", "encoding", "pcm", "blend", "clock")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STREAM_TIME_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    PCM_FIELD_NUMBER: _ClassVar[int]
    BLEND_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    seq: int
    stream_time: int
    sample_rate: int
    channels: int
    encoding: Encoding
    pcm: bytes
    blend: _containers.RepeatedCompositeFieldContainer[BlendEntry]
    clock: BeatInfo
    def __init__(self, session_id: _Optional[str] = ..., seq: _Optional[int] = ..., stream_time: _Optional[int] = ..., sample_rate: _Optional[int] = ..., channels: _Optional[int] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., pcm: _Optional[bytes] = ..., blend: _Optional[_Iterable[_Union[BlendEntry, _Mapping]]] = ..., clock: _Optional[_Union[BeatInfo, _Mapping]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("kind", "session_id", "stream_time", "message", "blend", "prompt", "words", "late_seconds", "state", "clock", "stinger", "stinger_status", "heard_bpm", "reason", "concealed_seconds")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Event.Kind]
        BLEND_CHANGED: _ClassVar[Event.Kind]
        UNKNOWN_WORDS: _ClassVar[Event.Kind]
        UNDERRUN: _ClassVar[Event.Kind]
        STATE_CHANGED: _ClassVar[Event.Kind]
        SESSION_ERROR: _ClassVar[Event.Kind]
        SESSION_ENDED: _ClassVar[Event.Kind]
        BEAT: _ClassVar[Event.Kind]
        BAR: _ClassVar[Event.Kind]
        STINGER: _ClassVar[Event.Kind]
        TEMPO: _ClassVar[Event.Kind]
        CONCEALED: _ClassVar[Event.Kind]
    KIND_UNSPECIFIED: Event.Kind
    BLEND_CHANGED: Event.Kind
    UNKNOWN_WORDS: Event.Kind
    UNDERRUN: Event.Kind
    STATE_CHANGED: Event.Kind
    SESSION_ERROR: Event.Kind
    SESSION_ENDED: Event.Kind
    BEAT: Event.Kind
    BAR: Event.Kind
    STINGER: Event.Kind
    TEMPO: Event.Kind
    CONCEALED: Event.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    BLEND_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    LATE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    STINGER_FIELD_NUMBER: _ClassVar[int]
    STINGER_STATUS_FIELD_NUMBER: _ClassVar[int]
    HEARD_BPM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONCEALED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    kind: Event.Kind
    session_id: str
    stream_time: int
    message: str
    blend: _containers.RepeatedCompositeFieldContainer[BlendEntry]
    prompt: str
    words: _containers.RepeatedScalarFieldContainer[str]
    late_seconds: float
    state: SessionState
    clock: BeatInfo
    stinger: str
    stinger_status: str
    heard_bpm: float
    reason: str
    concealed_seconds: float
    def __init__(self, kind: _Optional[_Union[Event.Kind, str]] = ..., session_id: _Optional[str] = ..., stream_time: _Optional[int] = ..., message: _Optional[str] = ..., blend: _Optional[_Iterable[_Union[BlendEntry, _Mapping]]] = ..., prompt: _Optional[str] = ..., words: _Optional[_Iterable[str]] = ..., late_seconds: _Optional[float] = ..., state: _Optional[_Union[SessionState, str]] = ..., clock: _Optional[_Union[BeatInfo, _Mapping]] = ..., stinger: _Optional[str] = ..., stinger_status: _Optional[str] = ..., heard_bpm: _Optional[float] = ..., reason: _Optional[str] = ..., concealed_seconds: _Optional[float] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("request_id", "ok", "code", "message", "field", "config", "unsupported")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    UNSUPPORTED_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    ok: bool
    code: str
    message: str
    field: str
    config: GenerationConfig
    unsupported: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[int] = ..., ok: _Optional[bool] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., field: _Optional[str] = ..., config: _Optional[_Union[GenerationConfig, _Mapping]] = ..., unsupported: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateStateRequest(_message.Message):
    __slots__ = ("session_id", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Value, _Mapping]] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    values: _containers.MessageMap[str, Value]
    def __init__(self, session_id: _Optional[str] = ..., values: _Optional[_Mapping[str, Value]] = ...) -> None: ...

class UpdateStateResponse(_message.Message):
    __slots__ = ("stream_time",)
    STREAM_TIME_FIELD_NUMBER: _ClassVar[int]
    stream_time: int
    def __init__(self, stream_time: _Optional[int] = ...) -> None: ...

class ControlRequest(_message.Message):
    __slots__ = ("session_id", "action")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    action: Action
    def __init__(self, session_id: _Optional[str] = ..., action: _Optional[_Union[Action, str]] = ...) -> None: ...

class ControlResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: SessionState
    def __init__(self, state: _Optional[_Union[SessionState, str]] = ...) -> None: ...

class SetPromptsRequest(_message.Message):
    __slots__ = ("session_id", "prompts")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    prompts: _containers.RepeatedCompositeFieldContainer[WeightedPrompt]
    def __init__(self, session_id: _Optional[str] = ..., prompts: _Optional[_Iterable[_Union[WeightedPrompt, _Mapping]]] = ...) -> None: ...

class TriggerRequest(_message.Message):
    __slots__ = ("session_id", "stinger")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STINGER_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    stinger: str
    def __init__(self, session_id: _Optional[str] = ..., stinger: _Optional[str] = ...) -> None: ...

class TriggerResponse(_message.Message):
    __slots__ = ("stream_time",)
    STREAM_TIME_FIELD_NUMBER: _ClassVar[int]
    stream_time: int
    def __init__(self, stream_time: _Optional[int] = ...) -> None: ...

class GenerationConfig(_message.Message):
    __slots__ = ("temperature", "top_k", "guidance", "seed", "bpm", "density", "brightness", "scale", "mute_bass", "mute_drums", "only_bass_and_drums", "mode")
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    BPM_FIELD_NUMBER: _ClassVar[int]
    DENSITY_FIELD_NUMBER: _ClassVar[int]
    BRIGHTNESS_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    MUTE_BASS_FIELD_NUMBER: _ClassVar[int]
    MUTE_DRUMS_FIELD_NUMBER: _ClassVar[int]
    ONLY_BASS_AND_DRUMS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    temperature: float
    top_k: int
    guidance: float
    seed: int
    bpm: float
    density: float
    brightness: float
    scale: Scale
    mute_bass: bool
    mute_drums: bool
    only_bass_and_drums: bool
    mode: GenerationMode
    def __init__(self, temperature: _Optional[float] = ..., top_k: _Optional[int] = ..., guidance: _Optional[float] = ..., seed: _Optional[int] = ..., bpm: _Optional[float] = ..., density: _Optional[float] = ..., brightness: _Optional[float] = ..., scale: _Optional[_Union[Scale, str]] = ..., mute_bass: _Optional[bool] = ..., mute_drums: _Optional[bool] = ..., only_bass_and_drums: _Optional[bool] = ..., mode: _Optional[_Union[GenerationMode, str]] = ...) -> None: ...

class SetGenerationConfigRequest(_message.Message):
    __slots__ = ("session_id", "config", "clear")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    config: GenerationConfig
    clear: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[str] = ..., config: _Optional[_Union[GenerationConfig, _Mapping]] = ..., clear: _Optional[_Iterable[str]] = ...) -> None: ...

class SetGenerationConfigResponse(_message.Message):
    __slots__ = ("config", "unsupported", "stream_time")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    UNSUPPORTED_FIELD_NUMBER: _ClassVar[int]
    STREAM_TIME_FIELD_NUMBER: _ClassVar[int]
    config: GenerationConfig
    unsupported: _containers.RepeatedScalarFieldContainer[str]
    stream_time: int
    def __init__(self, config: _Optional[_Union[GenerationConfig, _Mapping]] = ..., unsupported: _Optional[_Iterable[str]] = ..., stream_time: _Optional[int] = ...) -> None: ...

class SetPromptsResponse(_message.Message):
    __slots__ = ("unknown",)
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    unknown: _containers.RepeatedCompositeFieldContainer[UnknownWords]
    def __init__(self, unknown: _Optional[_Iterable[_Union[UnknownWords, _Mapping]]] = ...) -> None: ...

class UnknownWords(_message.Message):
    __slots__ = ("prompt", "words")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    words: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, prompt: _Optional[str] = ..., words: _Optional[_Iterable[str]] = ...) -> None: ...

class GetEngineInfoRequest(_message.Message):
    __slots__ = ("engine",)
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    engine: str
    def __init__(self, engine: _Optional[str] = ...) -> None: ...

class EngineInfo(_message.Message):
    __slots__ = ("name", "version", "sample_rate", "channels", "block_frames", "max_batch", "prompt_kinds", "knobs", "control_latency_seconds", "description", "available_engines", "unsupported_knobs", "beat_grid")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FRAMES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    PROMPT_KINDS_FIELD_NUMBER: _ClassVar[int]
    KNOBS_FIELD_NUMBER: _ClassVar[int]
    CONTROL_LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_ENGINES_FIELD_NUMBER: _ClassVar[int]
    UNSUPPORTED_KNOBS_FIELD_NUMBER: _ClassVar[int]
    BEAT_GRID_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    sample_rate: int
    channels: int
    block_frames: int
    max_batch: int
    prompt_kinds: _containers.RepeatedScalarFieldContainer[str]
    knobs: _containers.RepeatedScalarFieldContainer[str]
    control_latency_seconds: float
    description: str
    available_engines: _containers.RepeatedScalarFieldContainer[str]
    unsupported_knobs: _containers.RepeatedScalarFieldContainer[str]
    beat_grid: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., sample_rate: _Optional[int] = ..., channels: _Optional[int] = ..., block_frames: _Optional[int] = ..., max_batch: _Optional[int] = ..., prompt_kinds: _Optional[_Iterable[str]] = ..., knobs: _Optional[_Iterable[str]] = ..., control_latency_seconds: _Optional[float] = ..., description: _Optional[str] = ..., available_engines: _Optional[_Iterable[str]] = ..., unsupported_knobs: _Optional[_Iterable[str]] = ..., beat_grid: _Optional[bool] = ...) -> None: ...

class ValidateSceneRequest(_message.Message):
    __slots__ = ("scene_yaml", "filename", "engine")
    SCENE_YAML_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    scene_yaml: str
    filename: str
    engine: str
    def __init__(self, scene_yaml: _Optional[str] = ..., filename: _Optional[str] = ..., engine: _Optional[str] = ...) -> None: ...

class SceneIssue(_message.Message):
    __slots__ = ("file", "line", "field", "message", "severity", "column", "text")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    field: str
    message: str
    severity: str
    column: int
    text: str
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ..., field: _Optional[str] = ..., message: _Optional[str] = ..., severity: _Optional[str] = ..., column: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class ValidateSceneResponse(_message.Message):
    __slots__ = ("ok", "issues", "summary")
    OK_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    issues: _containers.RepeatedCompositeFieldContainer[SceneIssue]
    summary: str
    def __init__(self, ok: _Optional[bool] = ..., issues: _Optional[_Iterable[_Union[SceneIssue, _Mapping]]] = ..., summary: _Optional[str] = ...) -> None: ...
