extends SceneTree
## Streams the "minimal" scene through the CadenzaMusic node against a real server,
## raises "intensity" after one second of audio, and writes what it saw to a JSON file
## for the Python test to judge: godot --headless --script res://test_stream.gd -- URL OUT

const RATE := 48000

var _music: Node
var _out := ""
var _frames: Array = []
var _blends: Array = []
var _errors: Array = []
var _sessions: Array = []
var _updated := false
var _started := 0


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	_out = args[1]
	_music = load("res://addons/cadenza/cadenza_music.gd").new()
	_music.address = args[0]
	_music.scene = "minimal"
	_music.audio_frame.connect(_on_audio_frame)
	_music.blend_received.connect(_on_blend_received)
	_music.error_received.connect(_on_error_received)
	_music.session_started.connect(_on_session_started)
	root.add_child(_music)
	_started = Time.get_ticks_msec()


func _process(_delta: float) -> bool:
	var received: int = _music.frames_received
	if not _updated and received >= RATE:
		_updated = true
		_music.set_state("intensity", 1.0)
	if received >= 4 * RATE or Time.get_ticks_msec() - _started > 20000:
		_finish()
		return true
	return false


func _on_audio_frame(seq: int, stream_time: int, frames: int) -> void:
	_frames.append([seq, stream_time, frames])


func _on_blend_received(blend: Dictionary, stream_time: int) -> void:
	_blends.append({"stream_time": stream_time, "weights": blend})


func _on_error_received(code: String, message: String, fatal: bool) -> void:
	_errors.append({"code": code, "message": message, "fatal": fatal})


func _on_session_started(info: Dictionary) -> void:
	_sessions.append(info.get("session_id", ""))


func _finish() -> void:
	var report := {
		"frames": _frames,
		"blends": _blends,
		"errors": _errors,
		"sessions": _sessions,
		"underruns": _music.underruns,
	}
	var file := FileAccess.open(_out, FileAccess.WRITE)
	file.store_string(JSON.stringify(report))
	file.close()
	_music.stop(true)
