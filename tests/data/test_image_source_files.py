"""Helpers (no tests): a generated image folder: PNG files written by hand (zlib), and
JPEG files by TensorFlow when asked; a CSV naming them with two targets."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from mtl_studio.core.settings import DataSource
from tests.helpers import chain, node
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task


def png_bytes(pixels: np.ndarray) -> bytes:
    """An 8-bit PNG of (h, w) grayscale or (h, w, 3) RGB pixels."""
    pixels = np.asarray(pixels, np.uint8)
    color = 0 if pixels.ndim == 2 else 2
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes(pixels: np.ndarray) -> bytes:
    import tensorflow as tf

    return tf.io.encode_jpeg(np.asarray(pixels, np.uint8)).numpy()


def make_folder(
    folder: Path, rows: int = 20, size: int = 8, jpegs: int = 0, color: bool = False
) -> Path:
    """rows images in folder/imgs, the first `jpegs` of them JPEG, and
    folder/data.csv with columns image, brightness (the mean pixel value
    in [0, 1]) and kind (dark / light). Returns the CSV's path."""
    rng = np.random.default_rng(0)
    (folder / "imgs").mkdir(parents=True, exist_ok=True)
    lines = ["image,brightness,kind"]
    for i in range(rows):
        level = (i % 5) * 50 + 20
        shape = (size, size, 3) if color else (size, size)
        pixels = np.clip(level + rng.integers(-10, 10, shape), 0, 255).astype(np.uint8)
        if i < jpegs:
            name = f"imgs/img_{i}.jpg"
            (folder / name).write_bytes(jpeg_bytes(pixels if color else pixels[..., None]))
        else:
            name = f"imgs/img_{i}.png"
            (folder / name).write_bytes(png_bytes(pixels))
        kind = "light" if level > 120 else "dark"
        lines.append(f"{name},{pixels.mean() / 255:.4f},{kind}")
    path = folder / "data.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def image_source(csv: Path, channels: int = 1, size: int = 8, **fields) -> DataSource:
    return DataSource(
        "images",
        path=str(csv),
        inputs={"image": ["image"]},
        image_column="image",
        image_height=size,
        image_width=size,
        image_channels=channels,
        **fields,
    )


def image_project(csv: Path, channels: int = 1, size: int = 8) -> Project:
    """image (size, size, channels) -> Conv2D -> Flatten -> Dense, with two
    heads: brightness (mse) and kind (2 classes)."""
    p = Project("images")
    node(p, "image", "Input", shape=[size, size, channels])
    node(p, "conv", "Conv2D", filters=4, kernel_size=3)
    node(p, "flat", "Flatten")
    node(p, "trunk", "Dense", units=8, activation="relu")
    node(p, "out_b", "Output", units=1)
    node(p, "out_k", "Output", units=2, activation="softmax")
    chain(p, "image", "conv", "flat", "trunk", "out_b")
    chain(p, "trunk", "out_k")
    p.add_task(Task("brightness", "out_b", "mse", target=["brightness"]))
    p.add_task(Task("kind", "out_k", "sparse_categorical_crossentropy", target=["kind"]))
    p.training.batch_size = 8
    p.training.epochs = 1
    p.training.steps_per_call = 2
    p.training.validation_split = 0.25
    p.data = image_source(csv, channels, size)
    return p
