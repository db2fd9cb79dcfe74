@tool
extends EditorPlugin
## Registers nothing by hand: CadenzaMusic is a global class (class_name), so it
## appears in the "Add Node" dialog as soon as the addon is in the project. Enabling
## the plugin only marks the addon as in use.


func _enter_tree() -> void:
	pass


func _exit_tree() -> void:
	pass
