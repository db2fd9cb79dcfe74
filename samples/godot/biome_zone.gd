extends Area2D
## Switches the scene's "biome" input while the player is inside this zone.

@export var biome := "cave"
@export var outside := "town"
@export var music_path: NodePath
@export var color := Color(0.2, 0.2, 0.25, 0.6)
@export var size := Vector2(300, 720)


func _ready() -> void:
	body_entered.connect(_on_body_entered)
	body_exited.connect(_on_body_exited)


func _draw() -> void:
	draw_rect(Rect2(-size / 2, size), color)


func _on_body_entered(_body: Node2D) -> void:
	get_node(music_path).set_state("biome", biome)


func _on_body_exited(_body: Node2D) -> void:
	get_node(music_path).set_state("biome", outside)
