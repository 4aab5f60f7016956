"""The canvas: a view of the project graph (scene, items, view)."""
