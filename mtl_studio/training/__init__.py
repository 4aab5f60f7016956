"""Everything TensorFlow. Import the submodules you need; TensorFlow itself
is imported only when a function that needs it runs (see tf_import)."""
