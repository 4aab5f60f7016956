"""Exchange with the world outside the window: a standalone Keras training
script and the import of a .keras model (the diagram is drawn by the canvas:
ui/canvas/diagram.py).

Nothing here is imported by the core; the modules that need TensorFlow or Qt
import it lazily or say so at their top.
"""
