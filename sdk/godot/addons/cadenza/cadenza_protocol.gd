class_name CadenzaProtocol
extends RefCounted
## The Cadenza WebSocket protocol, version 1 (docs/websocket-protocol.md), without I/O:
## builds the client's JSON messages and decodes the server's binary audio frames.
## Static functions only; safe to call from anywhere.

const HEADER_SIZE := 32
const CLOCK_SIZE := 16
const FLAG_CLOCK := 1
const ENCODING_S16LE := 1
const ENCODING_F32LE := 2
## The live generation config fields (Lyria RealTime's names).
const CONFIG_FIELDS := [
	"temperature",
	"top_k",
	"guidance",
	"seed",
	"bpm",
	"density",
	"brightness",
	"scale",
	"mute_bass",
	"mute_drums",
	"only_bass_and_drums",
	"mode",
]


## A "create" message. seed < 0 means the scene's seed; an empty engine, the server's;
## beat_events: "none", "beats" or "bars".
static func create(
	scene: String,
	engine: String,
	seed_value: int,
	state: Dictionary,
	encoding: String,
	beat_events := "none"
) -> String:
	var message := {"type": "create", "scene": scene, "encoding": encoding}
	if engine != "":
		message["engine"] = engine
	if seed_value >= 0:
		message["seed"] = seed_value
	if not state.is_empty():
		message["state"] = state
	if beat_events != "none":
		message["beat_events"] = beat_events
	return JSON.stringify(message)


## An "attach" message; resume_from_seq < 0 streams live.
static func attach(
	session_id: String, resume_from_seq: int, encoding: String, beat_events := "none"
) -> String:
	var message := {"type": "attach", "session_id": session_id, "encoding": encoding}
	if resume_from_seq >= 0:
		message["resume_from_seq"] = resume_from_seq
	if beat_events != "none":
		message["beat_events"] = beat_events
	return JSON.stringify(message)


## A "trigger" message: fire one of the scene's stingers.
static func trigger(stinger: String, id: int) -> String:
	return JSON.stringify({"type": "trigger", "stinger": stinger, "id": id})


## A "config" message: set live generation fields (a null value clears one) and hand the
## fields in [param clear] back to the scene ("*": all). Returns "" when a name is not a
## config field.
static func config(fields: Dictionary, clear: Array, id: int) -> String:
	for name in fields:
		if not CONFIG_FIELDS.has(name):
			return ""
	for name in clear:
		if name != "*" and not CONFIG_FIELDS.has(name):
			return ""
	var message := {"type": "config", "config": fields, "id": id}
	if not clear.is_empty():
		message["clear"] = clear
	return JSON.stringify(message)


## Adds the token as a query parameter (for web exports, whose WebSocket cannot send headers).
static func with_token(url: String, token: String) -> String:
	var separator := "&" if url.contains("?") else "?"
	return url + separator + "token=" + token.uri_encode()


static func state(values: Dictionary, id: int) -> String:
	return JSON.stringify({"type": "state", "values": values, "id": id})


static func prompts(weights: Dictionary, id: int) -> String:
	return JSON.stringify({"type": "prompts", "prompts": weights, "id": id})


## action: play, pause, reset or stop.
static func control(action: String, id: int) -> String:
	return JSON.stringify({"type": "control", "action": action, "id": id})


## Parses a server text frame: a Dictionary with "type", or an empty one if unreadable.
static func parse(text: String) -> Dictionary:
	var value: Variant = JSON.parse_string(text)
	if typeof(value) != TYPE_DICTIONARY:
		return {}
	return value


## {prompt name: weight} from a blend list [{"name", "text", "weight"}].
static func weights(blend: Array) -> Dictionary:
	var result := {}
	for entry in blend:
		if typeof(entry) == TYPE_DICTIONARY:
			result[str(entry.get("name", ""))] = float(entry.get("weight", 0.0))
	return result


## Reads a binary audio frame. Returns {} when it is not one this client can play, else
## {"seq", "stream_time", "sample_rate", "channels", "frames": PackedVector2Array}, plus
## "beat", "bpm", "beats_per_bar", "beat_unit" when the frame carries the beat clock.
static func decode_audio(packet: PackedByteArray) -> Dictionary:
	if packet.size() < HEADER_SIZE or packet.slice(0, 4).get_string_from_ascii() != "CDZA":
		return {}
	var header_size := packet.decode_u16(6)
	var channels := packet.decode_u8(28)
	var encoding := packet.decode_u8(29)
	if packet.decode_u16(4) != 1 or header_size < HEADER_SIZE or header_size > packet.size():
		return {}
	if channels < 1 or (encoding != ENCODING_S16LE and encoding != ENCODING_F32LE):
		return {}
	var frames := PackedVector2Array()
	var right := mini(1, channels - 1)
	if encoding == ENCODING_F32LE:
		var samples := packet.slice(header_size).to_float32_array()
		var count := samples.size() / channels
		frames.resize(count)
		for i in count:
			var at := i * channels
			frames[i] = Vector2(samples[at], samples[at + right])
	else:
		var count := (packet.size() - header_size) / (2 * channels)
		frames.resize(count)
		for i in count:
			var at := header_size + 2 * i * channels
			frames[i] = Vector2(
				packet.decode_s16(at) / 32768.0, packet.decode_s16(at + 2 * right) / 32768.0
			)
	var frame := {
		"seq": packet.decode_u64(8),
		"stream_time": packet.decode_u64(16),
		"sample_rate": packet.decode_u32(24),
		"channels": channels,
		"frames": frames,
	}
	if packet.decode_u16(30) & FLAG_CLOCK and header_size >= HEADER_SIZE + CLOCK_SIZE:
		frame["beat"] = packet.decode_double(32)
		frame["bpm"] = packet.decode_float(40)
		frame["beats_per_bar"] = packet.decode_u8(44)
		frame["beat_unit"] = packet.decode_u8(45)
	return frame
