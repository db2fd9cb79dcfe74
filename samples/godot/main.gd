extends Node2D
## A tiny dungeon: walk the player (arrow keys) between the town (middle), the forest
## (left) and the cave (right); enemies nearby raise "danger", or drive it by hand with
## the slider. The music follows the dungeon scene of the Cadenza runtime.

const SAFE_DISTANCE := 300.0

var enemies: Array[Vector2] = [Vector2(640, 120), Vector2(300, 620), Vector2(1000, 600)]
var danger := 0.0

@onready var music: CadenzaMusic = $CadenzaMusic
@onready var player: Node2D = $Player
@onready var status: Label = $Hud/Status
@onready var slider: HSlider = $Hud/Danger
@onready var manual: CheckBox = $Hud/Manual


func _ready() -> void:
	music.blend_changed.connect(_on_blend_changed)
	music.error_received.connect(_on_error_received)


func _process(_delta: float) -> void:
	var nearest := INF
	for enemy in enemies:
		nearest = minf(nearest, player.position.distance_to(enemy))
	danger = (
		slider.value if manual.button_pressed else clampf(1.0 - nearest / SAFE_DISTANCE, 0.0, 1.0)
	)
	music.set_state("danger", danger)  # every frame is fine: coalesced
	queue_redraw()


func _draw() -> void:
	for enemy in enemies:
		draw_circle(enemy, 18.0, Color.CRIMSON)


func _on_blend_changed(blend: Dictionary) -> void:
	var parts := PackedStringArray()
	for prompt in blend:
		parts.append("%s %.2f" % [prompt, blend[prompt]])
	status.text = "Playing: " + ", ".join(parts)


func _on_error_received(code: String, message: String, _fatal: bool) -> void:
	status.text = "Cadenza %s: %s" % [code, message]
