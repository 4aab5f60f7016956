"""MTL Studio: design, train and export multi-task neural networks.

`import mtl_studio as mtl` is the Python API (docs/python-api.md): build or
load a project, validate it, train it, and get back a Run with its curves,
its models in real units, evaluate and predict. Everything else in the
package is private and may change. Importing it does not import TensorFlow
or Qt.
"""

__version__ = "0.1.0"

from .api import (  # noqa: E402 - after __version__, which submodules read
    DataSource,
    OptimizerSpec,
    Problem,
    Project,
    Run,
    Task,
    TrainingFailed,
    TrainingSettings,
    add_input,
    add_layer,
    add_task,
    arrange,
    examples,
    load,
    open_run,
    run_study,
    save,
    train,
    use_data,
    validate,
)

__all__ = [
    "DataSource",
    "OptimizerSpec",
    "Problem",
    "Project",
    "Run",
    "Task",
    "TrainingFailed",
    "TrainingSettings",
    "add_input",
    "add_layer",
    "add_task",
    "arrange",
    "examples",
    "load",
    "open_run",
    "run_study",
    "save",
    "train",
    "use_data",
    "validate",
]
