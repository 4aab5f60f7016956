"""Multi-task studies: does sharing help? Single-task baselines, the
delta-m summary of a configuration against them, and the result table.
Plain Python, like the core: no Qt, no TensorFlow."""
