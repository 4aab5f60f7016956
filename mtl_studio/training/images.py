"""Image decoding with TensorFlow: the decoder of an image folder's images.

The data layer (mtl_studio/data/images.py) never imports TensorFlow; when
preparation needs an image folder's pixels it imports this module and calls
decode_images (its docstring says why decoding happens at preparation).
Images are read and decoded by a tf.data pipeline in parallel; if any fails
they are decoded again one by one, to name the one that failed.

An exported training script (export/script.py) carries a verbatim copy of
decode_images (and of ImageDecodeError), so its images are MTL Studio's
pixel for pixel. Hence, as in weighting_math.py, decode_images uses only
numpy (`np`), TensorFlow (`tf`, imported at first use) and the standard
library, never MTL Studio.
"""

from __future__ import annotations

import numpy as np

from ..data.images import ImageDecodeError
from .weighting_math import tf  # TensorFlow, imported at first use


def decode_images(paths, shape, batch=256):
    """PNG or JPEG files as float32 (n, height, width, channels) in [0, 1],
    each resized (bilinear, antialiased) to the shape; grayscale and RGB
    are converted to the channels asked for, alpha is dropped; `batch`
    images per step of the pipeline. Raises ImageDecodeError with the index
    of an image that does not decode."""
    height, width, channels = shape
    if not paths:
        return np.zeros((0, height, width, channels), np.float32)

    def load(path):
        image = tf.io.decode_image(
            tf.io.read_file(path), channels=channels, dtype=tf.float32, expand_animations=False
        )
        image = tf.image.resize(image, (height, width), antialias=True)
        return tf.clip_by_value(image, 0.0, 1.0)

    names = [str(p) for p in paths]
    try:
        data = (
            tf.data.Dataset.from_tensor_slices(names)
            .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .batch(batch)
        )
        return np.concatenate([block.numpy() for block in data]).astype(np.float32)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.UnknownError):
        pass
    out = np.empty((len(names), height, width, channels), np.float32)
    for index, name in enumerate(names):
        try:
            out[index] = load(tf.constant(name)).numpy()
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as exc:
            message = (getattr(exc, "message", "") or str(exc)).strip().splitlines()[0]
            raise ImageDecodeError(index, message) from None
    return out
