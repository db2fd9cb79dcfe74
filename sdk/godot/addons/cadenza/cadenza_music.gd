@icon("res://addons/cadenza/icon.svg")
class_name CadenzaMusic
extends Node
## A live, generated soundtrack from a Cadenza runtime, steered by game state.
##
## Add the node, set [member address] and [member scene], run the game, and steer with
## [method set_state]: [code]$CadenzaMusic.set_state("danger", 0.7)[/code]. The node
## speaks the Cadenza WebSocket protocol through a [WebSocketPeer] polled in
## [method _process], and plays through a child [AudioStreamPlayer] with an
## [AudioStreamGenerator] (48 kHz; Godot resamples to the output rate). It prebuffers,
## fades out on underrun instead of clicking, coalesces state updates, and reconnects
## and resumes the same session (same [code]seq[/code], nothing lost) after a drop.
## [method trigger] fires the scene's stingers, [signal beat] and [signal bar] follow the
## music's beat grid, and [method set_generation_config] changes Lyria RealTime's knobs live.

## The blend changed; emitted when its audio starts playing. [param blend] maps each
## prompt name to its weight (weights sum to 1).
signal blend_changed(blend: Dictionary)
## A blend arrived from the server (ahead of its audio by the buffered time).
signal blend_received(blend: Dictionary, stream_time: int)
## A request failed, or the connection gave up ([param fatal]).
signal error_received(code: String, message: String, fatal: bool)
## A session was created or re-attached; [param info] is the server's session object.
signal session_started(info: Dictionary)
## The WebSocket opened (true) or dropped (false).
signal connection_changed(connected: bool)
## An audio frame arrived: for meters and tests.
signal audio_frame(seq: int, stream_time: int, frames: int)
## The session ended on the server ([param reason]: closed, error, idle, shutdown).
signal session_ended(reason: String)
## A beat of the music, emitted [member beat_lead_seconds] before it is heard.
## [param info]: beat, bar, beat_in_bar, bpm, beats_per_bar, beat_unit, stream_time.
## [param playback_time]: when it is heard, on the player's clock: compare with
## [method get_playback_time].
signal beat(info: Dictionary, playback_time: float)
## A downbeat (the first beat of a bar); same arguments as [signal beat].
signal bar(info: Dictionary, playback_time: float)
## A triggered stinger was scheduled ([param status] "scheduled", [param at]: its stream
## time) or not ("suppressed" by its cooldown, "unavailable").
signal stinger_scheduled(stinger: String, status: String, at: int)
## A request succeeded; [param reply] is the server's ack (a config ack carries "config",
## the live override now in effect, and "unsupported").
signal request_acked(id: int, reply: Dictionary)
## A request failed: [param field] names the offending value ("stinger", "config.bpm" ...).
signal request_failed(id: int, code: String, field: String, message: String)
## Any session event from the server (state_changed, tempo, underrun ...).
signal session_event(event: Dictionary)

const RATE := 48000
const FADE_FRAMES := 240
# Preloaded rather than named by class_name, so the node works before the editor has
# built its global class cache (exported builds, headless runs of a fresh checkout).
const Protocol := preload("cadenza_protocol.gd")

## The runtime's WebSocket endpoint (wss:// when the server uses TLS).
@export var address := "ws://127.0.0.1:8765/v1/stream"
## Bearer token, when the server was started with --token.
@export var token := ""
## A scene served by the runtime: dungeon, museum, minimal, or your own.
@export var scene := "dungeon"
## Engine name; empty: the server's default (procedural).
@export var engine := ""
## Seed for the music; -1: the scene's seed.
@export var music_seed := -1
## Connect and play when the node enters the tree.
@export var autoplay := true
## Audio held by the AudioStreamGenerator (Godot's own buffer), in seconds.
@export_range(0.05, 2.0, 0.01) var generator_seconds := 0.25
## Audio buffered before sound starts (and after an underrun), in seconds.
@export_range(0.02, 1.0, 0.01) var prebuffer_seconds := 0.1
## State messages per second at most; set_state may be called every frame.
@export_range(1.0, 60.0, 1.0) var max_state_updates_per_second := 20.0
## Reconnect and resume after a dropped connection.
@export var reconnect := true
## The audio bus to play on.
@export var bus := &"Master"
## Beat-grid events to ask for: "beats" emits [signal beat] and [signal bar], "bars" only bar.
@export_enum("none", "beats", "bars") var beat_events := "beats"
## Emit beat and bar signals this long before the beat is heard (to schedule a sound on it).
@export_range(0.0, 0.5, 0.01) var beat_lead_seconds := 0.05

## Times the buffer ran dry while playing.
var underruns := 0
## Audio frames received (48 kHz).
var frames_received := 0

var _socket: WebSocketPeer
var _player: AudioStreamPlayer
var _playback: AudioStreamGeneratorPlayback
var _capacity := 0
var _session_id := ""
var _next_seq := -1
var _sent_first := false
var _got_session := false
var _refusal := {}
var _ended_reason := ""
var _retries := 0
var _retry_at := -1.0
var _stopped := true
var _paused := false
var _playing := false
var _fade_in_left := 0
var _last_frame := Vector2.ZERO
var _queue: Array[PackedVector2Array] = []
var _queue_offset := 0
var _queued_frames := 0
var _stream_end := -1
var _blends: Array[Dictionary] = []
var _last_blend := {}
var _state_pending := {}
var _state_latest := {}
var _last_state_at := -1000.0
var _outgoing: Array[String] = []
var _next_id := 0
var _beats: Array[Dictionary] = []


func _ready() -> void:
	_player = AudioStreamPlayer.new()
	var generator := AudioStreamGenerator.new()
	generator.mix_rate = RATE
	generator.buffer_length = generator_seconds
	_player.stream = generator
	_player.bus = bus
	add_child(_player)
	if autoplay:
		start()


func _exit_tree() -> void:
	stop()


## Connects (re-attaching to the previous session after [method stop]) and plays.
func start() -> void:
	_stopped = false
	_ended_reason = ""
	if not _player.playing:
		_player.play()
		_playback = _player.get_stream_playback()
		_capacity = _playback.get_frames_available()
	if _socket == null:
		_open()


## Closes the connection. The session stays on the server for its idle timeout, so
## [method start] resumes it; pass [param end_session] to end it instead.
func stop(end_session := false) -> void:
	if end_session and _socket != null and _got_session:
		_socket.send_text(Protocol.control("stop", _new_id()))
		_session_id = ""
	_stopped = true
	if _socket != null:
		_socket.close(1000, "client stopped")
		_socket = null


## Sets a scene input: a number, an enum value (String) or a bool. Coalesced: at most
## [member max_state_updates_per_second] messages, each with the latest values.
func set_state(input: String, value: Variant) -> void:
	_state_pending[input] = value
	_state_latest[input] = value


## Sets several inputs at once.
func set_states(values: Dictionary) -> void:
	for input in values:
		set_state(input, values[input])


## Steers with weighted text prompts ({"dark techno": 1.0}), bypassing the scene;
## an empty Dictionary hands control back to the scene.
func set_prompts(weights: Dictionary) -> void:
	_outgoing.append(Protocol.prompts(weights, _new_id()))


## Fades out and pauses generation; the session and the buffered audio are kept.
func pause() -> void:
	_paused = true
	_outgoing.append(Protocol.control("pause", _new_id()))


## Resumes after [method pause].
func play() -> void:
	_paused = false
	_outgoing.append(Protocol.control("play", _new_id()))


## Restarts the music afresh in the same session.
func reset() -> void:
	_outgoing.append(Protocol.control("reset", _new_id()))


## Fires one of the scene's stingers (names in the session info's "stingers") at its next
## play_at boundary; [signal stinger_scheduled] says where it starts. Returns the request id.
func trigger(stinger: String) -> int:
	var id := _new_id()
	_outgoing.append(Protocol.trigger(stinger, id))
	return id


## Live generation config, Lyria RealTime's names: temperature, top_k, guidance, seed, bpm,
## density, brightness, scale, mute_bass, mute_drums, only_bass_and_drums, mode. A set field
## overrides the scene until cleared: [param clear] hands fields back ("*": all).
## Returns the request id, or -1 (and [signal error_received]) for an unknown field.
func set_generation_config(config: Dictionary, clear: Array = []) -> int:
	var id := _new_id()
	var message := Protocol.config(config, clear, id)
	if message == "":
		error_received.emit(
			"invalid_argument",
			"unknown generation config field in %s %s" % [config.keys(), clear],
			false
		)
		return -1
	_outgoing.append(message)
	return id


## Hands config fields back to the scene's expressions (all of them by default).
func clear_generation_config(fields: Array = ["*"]) -> int:
	return set_generation_config({}, fields)


## The player's playback clock in seconds, as heard now (the time base of [signal beat]).
func get_playback_time() -> float:
	if _player == null or not _player.playing:
		return 0.0
	return (
		_player.get_playback_position()
		+ AudioServer.get_time_since_last_mix()
		- AudioServer.get_output_latency()
	)


func is_connected_to_server() -> bool:
	return _socket != null and _socket.get_ready_state() == WebSocketPeer.STATE_OPEN


## The id of the current session ("" before the first one).
func get_session_id() -> String:
	return _session_id


## Seconds of audio waiting (in this node and in the generator).
func get_buffered_seconds() -> float:
	var in_generator := 0
	if _playback != null:
		in_generator = _capacity - _playback.get_frames_available()
	return float(_queued_frames + in_generator) / RATE


func _process(_delta: float) -> void:
	if _socket == null:
		if not _stopped and _retry_at >= 0.0 and _now() >= _retry_at:
			_open()
	else:
		_socket.poll()
		var ready_state := _socket.get_ready_state()
		if ready_state == WebSocketPeer.STATE_OPEN:
			_on_open()
		elif ready_state == WebSocketPeer.STATE_CLOSED:
			_on_closed(_socket.get_close_code(), _socket.get_close_reason())
	_feed_generator()
	_release_blends()
	_release_beats()


func _now() -> float:
	return Time.get_ticks_msec() / 1000.0


func _new_id() -> int:
	_next_id += 1
	return _next_id


func _open() -> void:
	_retry_at = -1.0
	_sent_first = false
	_got_session = false
	_refusal = {}
	_socket = WebSocketPeer.new()
	# One burst of the server's lookahead (0.5 s) is ~190 KiB of f32 audio.
	_socket.inbound_buffer_size = 4 * 1024 * 1024
	_socket.max_queued_packets = 4096
	var url := address
	if token != "":
		if OS.has_feature("web"):
			url = Protocol.with_token(address, token)  # browsers cannot set handshake headers
		else:
			_socket.handshake_headers = PackedStringArray(["Authorization: Bearer " + token])
	var err := _socket.connect_to_url(url)
	if err != OK:
		_socket = null
		_schedule_retry("cannot connect to %s (error %d)" % [address, err])


func _on_open() -> void:
	if not _sent_first:
		_sent_first = true
		var first: String
		if _session_id == "":
			first = Protocol.create(scene, engine, music_seed, _state_latest, "f32le", beat_events)
		else:
			first = Protocol.attach(_session_id, _next_seq, "f32le", beat_events)
		_socket.send_text(first)
		connection_changed.emit(true)
	while _socket.get_available_packet_count() > 0:
		var packet := _socket.get_packet()
		if _socket.was_string_packet():
			_on_text(packet.get_string_from_utf8())
		else:
			_on_audio(packet)
	if not _got_session:
		return
	for message in _outgoing:
		_socket.send_text(message)
	_outgoing.clear()
	var interval := 1.0 / max_state_updates_per_second
	if not _state_pending.is_empty() and _now() - _last_state_at >= interval:
		_socket.send_text(Protocol.state(_state_pending, _new_id()))
		_state_pending = {}
		_last_state_at = _now()


func _on_text(text: String) -> void:
	var message := Protocol.parse(text)
	match message.get("type", ""):
		"session":
			var info: Dictionary = message.get("session", {})
			_got_session = true
			_retries = 0
			_session_id = str(info.get("session_id", ""))
			session_started.emit(info)
		"blend":
			var blend := Protocol.weights(message.get("blend", []))
			var at := int(message.get("stream_time", 0))
			if blend.hash() == _last_blend.hash():
				return  # the same blend again, re-sent with the audio after a resume
			_last_blend = blend
			_blends.append({"stream_time": at, "blend": blend})
			blend_received.emit(blend, at)
		"ack":
			request_acked.emit(int(message.get("id", -1)), message)
		"error":
			if not _got_session:
				_refusal = message
			elif message.has("id"):
				request_failed.emit(
					int(message["id"]),
					str(message.get("code", "")),
					str(message.get("field", "")),
					str(message.get("message", ""))
				)
			error_received.emit(
				str(message.get("code", "")), str(message.get("message", "")), false
			)
		"event":
			_on_event(message)


func _on_event(message: Dictionary) -> void:
	var kind := str(message.get("kind", ""))
	match kind:
		"ended":
			_ended_reason = str(message.get("reason", "closed"))
			return
		"beat", "bar":
			_beats.append(message)
		"stinger":
			stinger_scheduled.emit(
				str(message.get("stinger", "")),
				str(message.get("status", "")),
				int(message.get("at", 0))
			)
	session_event.emit(message)


func _on_audio(packet: PackedByteArray) -> void:
	var frame := Protocol.decode_audio(packet)
	if frame.is_empty():
		error_received.emit("internal", "unreadable audio frame", false)
		return
	var seq: int = frame["seq"]
	if _next_seq >= 0 and seq < _next_seq:
		return  # already played: re-sent after a resume
	_next_seq = seq + 1
	var frames: PackedVector2Array = frame["frames"]
	_queue.append(frames)
	_queued_frames += frames.size()
	frames_received += frames.size()
	_stream_end = frame["stream_time"] + frames.size()
	audio_frame.emit(seq, frame["stream_time"], frames.size())


func _on_closed(code: int, reason: String) -> void:
	_socket = null
	connection_changed.emit(false)
	if _stopped:
		return
	if _ended_reason != "" and _ended_reason != "shutdown":
		_stopped = true
		session_ended.emit(_ended_reason)
		return
	if not _refusal.is_empty():
		var refused := str(_refusal.get("code", ""))
		if refused == "not_found" and _session_id != "":
			_session_id = ""  # the session is gone: create a new one, same state
			_next_seq = -1
			_blends.clear()
			_last_blend = {}
			_open()
			return
		if refused != "resource_exhausted" and refused != "unavailable":
			_stopped = true
			error_received.emit(refused, str(_refusal.get("message", "")), true)
			return
	_schedule_retry("closed with code %d %s" % [code, reason])


func _schedule_retry(why: String) -> void:
	_retries += 1
	if not reconnect or _retries > 20:
		_stopped = true
		error_received.emit("unavailable", "giving up on %s: %s" % [address, why], true)
		return
	# Almost at once the first time (a cluster restores a dropped session elsewhere in
	# about half a second), then backing off from 0.2 s.
	_retry_at = _now() + (0.05 if _retries == 1 else minf(5.0, 0.2 * pow(2.0, _retries - 2)))


# Moves queued audio into the generator as it has room (get_frames_available), with a
# prebuffer before starting, a fade-in when sound starts, and a fade-out tail when the
# queue runs dry, so an underrun is a short fade to silence instead of a click.
func _feed_generator() -> void:
	if _playback == null:
		return
	var room := _playback.get_frames_available()
	if not _playing:
		if _paused or _queued_frames < int(prebuffer_seconds * RATE):
			return
		_playing = true
		_fade_in_left = FADE_FRAMES
	while room > 0 and not _queue.is_empty():
		var chunk := _queue[0]
		var take := mini(room, chunk.size() - _queue_offset)
		var part := chunk.slice(_queue_offset, _queue_offset + take)
		if _paused:
			take = mini(take, FADE_FRAMES)
			part = _ramp(part.slice(0, take), 1.0, -1.0 / FADE_FRAMES)
		elif _fade_in_left > 0:
			part = _ramp(part, 1.0 - float(_fade_in_left) / FADE_FRAMES, 1.0 / FADE_FRAMES)
			_fade_in_left = maxi(0, _fade_in_left - take)
		_playback.push_buffer(part)
		_last_frame = part[part.size() - 1]
		room -= take
		_queue_offset += take
		_queued_frames -= take
		if _queue_offset >= chunk.size():
			_queue.pop_front()
			_queue_offset = 0
		if _paused:
			_playing = false
			return
	var queued_in_generator := _capacity - _playback.get_frames_available()
	if _queue.is_empty() and queued_in_generator < FADE_FRAMES * 4 and room >= FADE_FRAMES:
		underruns += 1
		var tail := PackedVector2Array()
		tail.resize(FADE_FRAMES)
		for i in FADE_FRAMES:
			tail[i] = _last_frame * (float(FADE_FRAMES - i) / FADE_FRAMES)
		_playback.push_buffer(tail)
		_last_frame = Vector2.ZERO
		_playing = false


# Multiplies part by a gain starting at start_gain and moving by step per frame, in [0, 1].
func _ramp(part: PackedVector2Array, start_gain: float, step: float) -> PackedVector2Array:
	var gain := start_gain
	for i in part.size():
		gain = clampf(gain + step, 0.0, 1.0)
		part[i] = part[i] * gain
	return part


# Emits blend_changed for the blends whose audio has reached the listener: the stream
# time of the next frame to leave the generator is what was pushed minus what is queued.
func _release_blends() -> void:
	if _blends.is_empty():
		return
	var playhead := _playhead()
	while not _blends.is_empty() and (playhead < 0 or _blends[0]["stream_time"] <= playhead):
		var due: Dictionary = _blends.pop_front()
		blend_changed.emit(due["blend"])


# Emits beat/bar for the beats about to be heard (beat_lead_seconds ahead of the playhead),
# with the player's playback time at which each is heard.
func _release_beats() -> void:
	if _beats.is_empty():
		return
	var playhead := _playhead()
	var lead := int(beat_lead_seconds * RATE)
	while not _beats.is_empty():
		var info: Dictionary = _beats[0]
		var at := int(info.get("stream_time", 0))
		if playhead >= 0 and at - lead > playhead:
			return
		_beats.pop_front()
		var when := get_playback_time()
		if playhead >= 0:
			when += float(at - playhead) / RATE
		if info.get("kind", "") == "bar" or int(info.get("beat_in_bar", -1)) == 0:
			bar.emit(info, when)
		if info.get("kind", "") == "beat":
			beat.emit(info, when)


func _playhead() -> int:
	if _playback == null or _stream_end < 0:
		return -1
	var queued := _capacity - _playback.get_frames_available()
	return _stream_end - _queued_frames - queued
