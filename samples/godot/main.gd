extends Node2D
## A tiny dungeon: walk the player (arrow keys) between the town (middle), the forest
## (left) and the cave (right); enemies nearby raise "danger", or drive it by hand with
## the slider. The music follows the dungeon scene of the Cadenza runtime: touching an
## enemy fires the "hit" stinger, and the player swells on every downbeat.

const SAFE_DISTANCE := 300.0

var enemies: Array[Vector2] = [Vector2(640, 120), Vector2(300, 620), Vector2(1000, 600)]
var danger := 0.0
var touching := false

@onready var music: CadenzaMusic = $CadenzaMusic
@onready var player: Node2D = $Player
@onready var status: Label = $Hud/Status
@onready var slider: HSlider = $Hud/Danger
@onready var manual: CheckBox = $Hud/Manual


func _ready() -> void:
	music.blend_changed.connect(_on_blend_changed)
	music.error_received.connect(_on_error_received)
	music.bar.connect(_on_bar)


func _process(_delta: float) -> void:
	var nearest := INF
	for enemy in enemies:
		nearest = minf(nearest, player.position.distance_to(enemy))
	danger = (
		slider.value if manual.button_pressed else clampf(1.0 - nearest / SAFE_DISTANCE, 0.0, 1.0)
	)
	music.set_state("danger", danger)  # every frame is fine: coalesced
	if nearest < 30.0 and not touching:
		music.trigger("hit")
	touching = nearest < 30.0
	queue_redraw()


func _draw() -> void:
	for enemy in enemies:
		draw_circle(enemy, 18.0, Color.CRIMSON)


func _on_blend_changed(blend: Dictionary) -> void:
	var parts := PackedStringArray()
	for prompt in blend:
		parts.append("%s %.2f" % [prompt, blend[prompt]])
	status.text = "Playing: " + ", ".join(parts)


func _on_bar(_info: Dictionary, playback_time: float) -> void:
	var delay := maxf(0.0, playback_time - music.get_playback_time())
	var tween := create_tween()
	tween.tween_interval(delay)
	tween.tween_property(player, "scale", Vector2(1.3, 1.3), 0.03)
	tween.tween_property(player, "scale", Vector2.ONE, 0.25)


func _on_error_received(code: String, message: String, _fatal: bool) -> void:
	status.text = "Cadenza %s: %s" % [code, message]
