"""The model of a project: graph, catalogue, tasks, settings, file format,
validation and undoable commands. Nothing here imports Qt or TensorFlow."""
