"""Exchange with the world outside the window: a standalone Keras training
script, a diagram of the network, and the import of a .keras model.

Nothing here is imported by the core; the modules that need TensorFlow or Qt
import it lazily or say so at their top.
"""
