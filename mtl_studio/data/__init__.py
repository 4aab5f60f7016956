"""Data sources to arrays: CSV and NPZ files, built-in generators, column
mapping, splits and standardisation. numpy and the core only: no Qt, no
TensorFlow (the trainer imports this, never the other way round)."""

from .errors import DataError
from .generators import GENERATORS, Generator, generate
from .prepare import DataSet, PreparedData, Split, load_source, prepare
from .table import Table, read_csv, read_npz

__all__ = [
    "DataError",
    "DataSet",
    "GENERATORS",
    "Generator",
    "PreparedData",
    "Split",
    "Table",
    "generate",
    "load_source",
    "prepare",
    "read_csv",
    "read_npz",
]
