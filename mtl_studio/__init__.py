"""MTL Studio: design, train and export multi-task neural networks."""

__version__ = "0.1.0"
