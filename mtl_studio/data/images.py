"""Image folders: a CSV file whose image column names PNG or JPEG files.

A source of kind "images" (core/settings.py, DataSource) is a CSV file read
by read_csv as any other, with one column of image paths, each relative to
the CSV's folder; the other columns are targets (or plain inputs), exactly
as for a "csv" source. How it becomes training arrays, in three steps:

1. Reading (read_image_table, called by prepare.load_source, so training,
   `mtl-studio validate` and the window's Data panel all do it): the CSV,
   then every image path is checked, without decoding, by the data layer:
   it must be relative and stay inside the CSV's folder, name a file that
   exists, start with a PNG or JPEG signature and be whole (a PNG's chunks
   and checksums, and its image data inflated to the size its header says;
   a JPEG's markers up to its image data, and its end marker). The first
   bad one is a DataError with the CSV file, the row (as read_csv numbers
   rows: the header is row 1), the column and the path. The table that
   comes back is an ImageTable: the column holds the paths, its kind is
   IMAGE, and its profile says the shape of one decoded image, so the
   checks and the panel's mapping treat it as an array of that shape.
2. Decoding (image_input, called by prepare where an Input's columns
   become its array): the images of every row, decoded and resized to
   (height, width, channels) float32 in [0, 1] by TensorFlow. The data
   layer never imports TensorFlow: the decoder is a hook, by default
   mtl_studio.training.images.decode_images, imported only when images
   are decoded (set_decoder replaces it, in tests for instance). All
   images are decoded at preparation into the Split arrays, so the Trainer
   sees arrays as for any source, and the decoded images must fit in
   memory (float32: 4 x height x width x channels bytes each). They are
   never standardised: "Standardise inputs" applies to the other inputs.
3. Caching (cache_images): the decoded images of a data set are kept in
   one .npz file in the cache folder (cache_folder()), keyed by every
   image's path, modification time and size and by the target size; the
   next run with the same images loads it instead of decoding. One file
   per CSV file, image column and size: a changed image replaces it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import struct
import zlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.atomic import replacing
from ..core.data_profile import IMAGE, LABEL, NUMERIC
from ..core.settings import DataSource
from .errors import DataError
from .table import Table, read_csv

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Bumped when decoding changes, so old cache files are not used.
CACHE_VERSION = "1"
CACHE_ENV = "MTL_STUDIO_CACHE"


@dataclass
class ImageTable(Table):
    """A CSV table with a column of image paths (kind IMAGE)."""

    image_column: str = ""
    image_shape: tuple = ()  # (height, width, channels) of one decoded image
    folder: str = ""  # the CSV's folder, which the paths are relative to

    @classmethod
    def of(cls, table: Table, **image_fields) -> "ImageTable":
        """The table's columns with the image fields."""
        return cls(**{f.name: getattr(table, f.name) for f in fields(Table)}, **image_fields)

    def head(self, rows: int) -> "ImageTable":
        return ImageTable.of(
            super().head(rows),
            image_column=self.image_column,
            image_shape=self.image_shape,
            folder=self.folder,
        )

    def image_path(self, index: int) -> Path:
        """The file of example `index` (0-based)."""
        return Path(self.folder) / os.path.normpath(str(self.columns[self.image_column][index]))


def image_shape(source: DataSource) -> tuple[int, int, int]:
    return (source.image_height, source.image_width, source.image_channels)


# --- reading and checking -------------------------------------------------------


def read_image_table(path, source: DataSource) -> ImageTable:
    """The CSV file at `path` with its image column checked (see the module's
    docstring); raises DataError at the first bad image."""
    table = read_csv(path)
    column = source.image_column
    if not column:
        raise DataError(
            "no image column is chosen: choose the column of image paths in the Data panel",
            table.source,
        )
    if column not in table.columns:
        listed = ", ".join(list(table.columns)[:12])
        raise DataError(
            f"missing column (columns: {listed}): choose the column of image paths",
            table.source,
            column=column,
        )
    if table.kinds[column] != LABEL:
        raise DataError(
            "the column holds numbers, not image paths: choose the column of image files",
            table.source,
            column=column,
        )
    folder = Path(path).parent
    for index, text in enumerate(table.columns[column].tolist()):
        problem = image_problem(folder, text)
        if problem is not None:
            raise table.error(problem, column, index)
    table.kinds = {**table.kinds, column: IMAGE}
    return ImageTable.of(
        table, image_column=column, image_shape=image_shape(source), folder=str(folder)
    )


def image_problem(folder: Path, text: str) -> str | None:
    """What is wrong with the image `text` names (relative to `folder`), as
    the end of a message; None when it is a whole PNG or JPEG file."""
    if Path(text).is_absolute() or os.path.isabs(text) or Path(text).drive:
        return f"an absolute path: write it relative to the CSV file's folder: {text}"
    relative = os.path.normpath(text)
    if relative == ".." or relative.startswith(".." + os.sep) or relative.startswith("../"):
        return (
            f"the path leaves the CSV file's folder: {text}: keep the images in the "
            "CSV file's folder or below it"
        )
    full = Path(folder) / relative
    if not full.is_file():
        what = "a folder, not an image" if full.is_dir() else "image not found"
        return f"{what}: {text}"
    try:
        data = full.read_bytes()
    except OSError as exc:
        return f"cannot read the image ({exc.strerror or exc}): {text}"
    problem = format_problem(data)
    return f"{problem}: {text}" if problem else None


def format_problem(data: bytes) -> str | None:
    """Why the bytes are not a whole PNG or JPEG file, or None."""
    if not data:
        return "the image file is empty"
    if data.startswith(PNG_SIGNATURE):
        return _png_problem(data)
    if data.startswith(JPEG_SIGNATURE):
        return _jpeg_problem(data)
    return "not a PNG or JPEG image (its first bytes are neither signature)"


# PNG colour type -> (allowed bit depths, samples per pixel)
_PNG_TYPES = {0: ((1, 2, 4, 8, 16), 1), 2: ((8, 16), 3), 3: ((1, 2, 4, 8), 1), 4: ((8, 16), 2)}
_PNG_TYPES[6] = ((8, 16), 4)
# Adam7 passes: (x start, y start, x step, y step)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
_ADAM7 += ((0, 1, 1, 2),)


def _png_problem(data: bytes) -> str | None:
    pos, header, inflate, size, ended = len(PNG_SIGNATURE), None, zlib.decompressobj(), 0, False
    try:
        while pos + 12 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos : pos + 8])
            end = pos + 12 + length
            if end > len(data):
                return "the PNG file is cut short"
            body = data[pos + 8 : end - 4]
            if zlib.crc32(kind + body) != struct.unpack(">I", data[end - 4 : end])[0]:
                return f"the PNG file is damaged (its {kind.decode('latin-1')} chunk)"
            if header is None and kind != b"IHDR":
                return "not a valid PNG file (no header)"
            if kind == b"IHDR":
                header = body
            elif kind == b"IDAT":
                size += len(inflate.decompress(body))
            elif kind == b"IEND":
                ended = True
                break
            pos = end
        size += len(inflate.flush())
    except zlib.error:
        return "the PNG file's image data is damaged"
    if header is None or len(header) != 13:
        return "not a valid PNG file (no header)"
    if not ended:
        return "the PNG file is cut short"
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if color not in _PNG_TYPES or depth not in _PNG_TYPES[color][0] or not width or not height:
        return "not a valid PNG file (its header is wrong)"
    bits = depth * _PNG_TYPES[color][1]
    if interlace:
        passes = [(-(-(width - x) // dx), -(-(height - y) // dy)) for x, y, dx, dy in _ADAM7]
        wanted = sum(h * (1 + (w * bits + 7) // 8) for w, h in passes if w > 0 and h > 0)
    else:
        wanted = height * (1 + (width * bits + 7) // 8)
    if size < wanted:
        return "the PNG file's image data is cut short"
    return None


_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_problem(data: bytes) -> str | None:
    pos, frame = 2, None
    while True:
        if pos + 4 > len(data):
            return "the JPEG file is cut short"
        if data[pos] != 0xFF:
            return "the JPEG file is damaged"
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1  # fill byte
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if length < 2 or pos + 2 + length > len(data):
            return "the JPEG file is cut short"
        if marker in _JPEG_FRAMES:
            if length < 8:
                return "the JPEG file is damaged"
            height, width, components = struct.unpack(">HHB", data[pos + 5 : pos + 10])
            frame = (height, width, components)
        if marker == 0xDA:
            break
        pos += 2 + length
    if frame is None or not frame[0] or not frame[1]:
        return "the JPEG file is damaged (no image size)"
    if frame[2] not in (1, 3):
        return f"a JPEG of {frame[2]} colour channels: save it as RGB or grayscale"
    if data.rfind(b"\xff\xd9") < pos:
        return "the JPEG file is cut short"
    return None


def header_shape(path) -> tuple[int, int, int] | None:
    """(height, width, channels: 1 grayscale, else 3) from an image file's
    header, without decoding; None if it is not a PNG or JPEG file."""
    try:
        with open(path, "rb") as file:
            data = file.read(1 << 16)
    except OSError:
        return None
    if data.startswith(PNG_SIGNATURE) and len(data) >= 26:
        width, height, _, color = struct.unpack(">IIBB", data[16:26])
        return (height, width, 1 if color in (0, 4) else 3)
    if data.startswith(JPEG_SIGNATURE):
        pos = 2
        while pos + 10 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in _JPEG_FRAMES:
                height, width, components = struct.unpack(">HHB", data[pos + 5 : pos + 10])
                return (height, width, 1 if components == 1 else 3)
            if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD8:
                pos += 1 if marker == 0xFF else 2
                continue
            pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return None


def guess_image_column(table: Table) -> str:
    """The first text column whose first cells name PNG or JPEG files, or ""."""
    for name, values in table.columns.items():
        if table.kinds[name] == NUMERIC or values.ndim != 1 or not len(values):
            continue
        cells = [str(v).lower() for v in values[:20].tolist()]
        if all(c.endswith(IMAGE_SUFFIXES) for c in cells):
            return name
    return ""


# --- decoding -------------------------------------------------------------------


class ImageDecodeError(Exception):
    """An image the decoder could not decode: its index in the list given."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


# paths (absolute), (height, width, channels) -> float32 (n, h, w, c) in [0, 1];
# raises ImageDecodeError for an image it cannot decode.
Decoder = Callable[[list[Path], tuple[int, int, int]], np.ndarray]
_decoder: Decoder | None = None


def set_decoder(decoder: Decoder | None) -> None:
    """Use `decoder` for images (None: TensorFlow's, the default)."""
    global _decoder
    _decoder = decoder


def decoder() -> Decoder:
    if _decoder is not None:
        return _decoder
    # TensorFlow, imported here only, when images are decoded (the data
    # layer itself never imports it).
    return importlib.import_module("mtl_studio.training.images").decode_images


def image_input(table: Table, source: DataSource, names: list[str], label: str) -> np.ndarray:
    """The images of every row as float32 (n, height, width, channels) in
    [0, 1]: from the cache when it holds them, else decoded (and cached when
    the source says so). `label` names the Input, for messages."""
    if not isinstance(table, ImageTable):
        raise DataError("the image column of a table without images", table.source)
    if len(names) != 1:
        raise DataError(
            f"images cannot be stacked with other columns: map the image column alone to {label}",
            table.source,
            column=table.image_column,
        )
    paths = [table.image_path(i) for i in range(table.n_rows)]
    shape = table.image_shape
    cache = _cache_file(table) if source.cache_images else None
    key = _cache_key(paths, shape) if cache is not None else ""
    if cache is not None:
        found = _load_cache(cache, key, (len(paths), *shape))
        if found is not None:
            return found
    try:
        images = np.asarray(decoder()(paths, shape), dtype=np.float32)
    except ImageDecodeError as exc:
        text = table.columns[table.image_column][exc.index]
        raise table.error(
            f"cannot decode the image ({exc.message}): {text}", table.image_column, exc.index
        ) from None
    if cache is not None:
        _save_cache(cache, key, images)
    return images


# --- the cache ------------------------------------------------------------------


def cache_folder() -> Path:
    """$MTL_STUDIO_CACHE, else the user's cache folder, /mtl-studio/images."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA")
    return Path(base or Path.home() / ".cache") / "mtl-studio" / "images"


def _cache_file(table: ImageTable) -> Path:
    name = f"{Path(table.source).resolve()}|{table.image_column}|{table.image_shape}"
    return cache_folder() / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".npz")


def _cache_key(paths: list[Path], shape: tuple) -> str:
    digest = hashlib.sha256(f"{CACHE_VERSION}|{shape}".encode())
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            return ""  # gone meanwhile: decoding reports it
        digest.update(f"|{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}".encode())
    return digest.hexdigest()


def _load_cache(path: Path, key: str, shape: tuple) -> np.ndarray | None:
    if not key:
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key or data["images"].shape != shape:
                return None
            return data["images"].astype(np.float32, copy=False)
    except Exception:  # noqa: BLE001 - a missing or damaged cache file
        return None  # no cache, or a damaged one: decode again


def _save_cache(path: Path, key: str, images: np.ndarray) -> None:
    if not key:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp, open(tmp, "wb") as file:
            np.savez(file, key=np.array(key), images=images)
    except OSError:
        pass  # a cache that cannot be written only costs time


# --- choosing a folder ------------------------------------------------------------

# A first image larger than this (either side) is not taken as the size:
# the guess then fits it into GUESS_FIT pixels, keeping its aspect.
GUESS_LARGEST = 256
GUESS_FIT = 128


def guess_fields(csv_path) -> dict:
    """The image fields a newly chosen CSV file suggests: the column that
    names image files, and the size and channels of its first image (a large
    one scaled down). Only what could be found: {} for a file without one."""
    from .table import read_csv_head  # noqa: PLC0415

    try:
        head = read_csv_head(csv_path, rows=20)
    except DataError:
        return {}
    column = guess_image_column(head)
    if not column:
        return {}
    fields: dict = {"image_column": column}
    first = os.path.normpath(str(head.columns[column][0]))
    shape = header_shape(Path(csv_path).parent / first)
    if shape is not None and shape[0] > 0 and shape[1] > 0:
        height, width, channels = shape
        if max(height, width) > GUESS_LARGEST:
            scale = GUESS_FIT / max(height, width)
            height, width = max(1, round(height * scale)), max(1, round(width * scale))
        fields.update(image_height=height, image_width=width, image_channels=channels)
    return fields
