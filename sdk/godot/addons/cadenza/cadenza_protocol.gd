class_name CadenzaProtocol
extends RefCounted
## The Cadenza WebSocket protocol, version 1 (docs/websocket-protocol.md), without I/O:
## builds the client's JSON messages and decodes the server's binary audio frames.
## Static functions only; safe to call from anywhere.

const HEADER_SIZE := 32
const ENCODING_S16LE := 1
const ENCODING_F32LE := 2


## A "create" message. seed < 0 means the scene's seed; an empty engine, the server's.
static func create(
	scene: String, engine: String, seed_value: int, state: Dictionary, encoding: String
) -> String:
	var message := {"type": "create", "scene": scene, "encoding": encoding}
	if engine != "":
		message["engine"] = engine
	if seed_value >= 0:
		message["seed"] = seed_value
	if not state.is_empty():
		message["state"] = state
	return JSON.stringify(message)


## An "attach" message; resume_from_seq < 0 streams live.
static func attach(session_id: String, resume_from_seq: int, encoding: String) -> String:
	var message := {"type": "attach", "session_id": session_id, "encoding": encoding}
	if resume_from_seq >= 0:
		message["resume_from_seq"] = resume_from_seq
	return JSON.stringify(message)


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
## {"seq", "stream_time", "sample_rate", "channels", "frames": PackedVector2Array}.
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
	return {
		"seq": packet.decode_u64(8),
		"stream_time": packet.decode_u64(16),
		"sample_rate": packet.decode_u32(24),
		"channels": channels,
		"frames": frames,
	}
