extends CharacterBody2D
## Arrow keys move the player.

@export var speed := 260.0


func _physics_process(_delta: float) -> void:
	velocity = Input.get_vector("ui_left", "ui_right", "ui_up", "ui_down") * speed
	move_and_slide()


func _draw() -> void:
	draw_circle(Vector2.ZERO, 16.0, Color.GOLD)
