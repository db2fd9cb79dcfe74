extends SceneTree
## The conformance scenario through the CadenzaMusic node against a real server:
## create -> state -> prompts -> config -> trigger -> beat events -> pause/play -> stop.
## Writes what it saw to a JSON file for the Python test to judge:
## godot --headless --script res://test_conformance.gd -- URL OUT

const RATE := 48000
const COMBAT := "combat"

var _music: Node
var _out := ""
var _step := 0
var _step_started := 0
var _started := 0
var _frames: Array = []
var _blends: Array = []
var _errors: Array = []
var _failed: Dictionary = {}
var _acks: Dictionary = {}
var _stingers: Array = []
var _states: Array = []
var _beats: Array = []
var _bars: Array = []
var _sessions: Array = []
var _steps: Array = []
var _ids: Dictionary = {}
var _paused_frames := -1
var _frames_while_paused := -1


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	_out = args[1]
	_music = load("res://addons/cadenza/cadenza_music.gd").new()
	_music.address = args[0]
	_music.scene = "dungeon"
	_music.music_seed = 7
	_music.beat_events = "beats"
	_music.audio_frame.connect(func(seq, at, n): _frames.append([seq, at, n]))
	_music.blend_received.connect(func(blend, at): _blends.append(blend))
	_music.error_received.connect(func(code, message, fatal): _errors.append([code, message]))
	_music.request_failed.connect(func(id, code, field, _m): _failed[str(id)] = [code, field])
	_music.request_acked.connect(func(id, reply): _acks[str(id)] = reply)
	_music.stinger_scheduled.connect(func(s, status, at): _stingers.append([s, status, at]))
	_music.session_event.connect(_on_session_event)
	_music.beat.connect(func(info, when): _beats.append([info["beat"], info["bpm"], when]))
	_music.bar.connect(func(info, when): _bars.append([info["bar"], when]))
	_music.session_started.connect(func(info): _sessions.append(info.get("session_id", "")))
	root.add_child(_music)
	_started = Time.get_ticks_msec()
	_step_started = _started


func _on_session_event(event: Dictionary) -> void:
	if event.get("kind", "") == "state_changed":
		_states.append(event.get("state", ""))


func _elapsed() -> float:
	return (Time.get_ticks_msec() - _step_started) / 1000.0


func _next(name: String, ok: bool) -> void:
	_steps.append("%s: %s" % [name, "ok" if ok else "timed out"])
	_step += 1
	_step_started = Time.get_ticks_msec()


func _last_bpm() -> float:
	return -1.0 if _beats.is_empty() else float(_beats[-1][1])


func _process(_delta: float) -> bool:
	var late := _elapsed() > 10.0
	match _step:
		0:
			if _music.frames_received >= RATE or late:
				_next("create", not late)
				_music.set_state("danger", 0.9)
		1:
			if _blends.any(func(b): return b.get(COMBAT, 0.0) > 0.5) or late:
				_next("state", not late)
				_music.set_prompts({"dark techno": 1.0})
		2:
			if _blends.any(func(b): return b.has("dark techno")) or late:
				_next("prompts", not late)
				_music.set_prompts({})
				_ids["config"] = _music.set_generation_config({"bpm": 100, "mute_drums": true})
				_ids["bad_config"] = _music.set_generation_config({"bpm": 5000})
		3:
			if (_acks.has(str(_ids["config"])) and absf(_last_bpm() - 100.0) < 2.0) or late:
				_next("config", not late)
				_ids["clear"] = _music.clear_generation_config()
				_ids["trigger"] = _music.trigger("hit")
				_ids["bad_trigger"] = _music.trigger("nope")
		4:
			if (not _stingers.is_empty() and _failed.has(str(_ids["bad_trigger"]))) or late:
				_next("trigger", not late)
		5:
			if _beats.size() >= 8 and not _bars.is_empty() or late:
				_next("beats", not late)
				_music.pause()
		6:
			if _states.has("paused") and _paused_frames < 0:
				_paused_frames = _frames.size()
			if _paused_frames >= 0 and _elapsed() > 0.6 or late:
				_frames_while_paused = _frames.size() - _paused_frames
				_next("pause", not late)
				_music.play()
		7:
			if _states.size() > 0 and _states[-1] == "playing" or late:
				_next("play", not late)
				_music.stop(true)
		_:
			_finish()
			return true
	return false


func _finish() -> void:
	var report := {
		"steps": _steps,
		"frames": _frames,
		"blends": _blends,
		"errors": _errors,
		"failed": _failed,
		"acks": _acks,
		"ids": _ids,
		"stingers": _stingers,
		"states": _states,
		"beats": _beats,
		"bars": _bars,
		"sessions": _sessions,
		"frames_while_paused": _frames_while_paused,
	}
	var file := FileAccess.open(_out, FileAccess.WRITE)
	file.store_string(JSON.stringify(report))
	file.close()
