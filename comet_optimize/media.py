"""What Comet's richer log_* calls turn into on disk: bytes and JSON, no optional deps.

Pure conversions (no I/O), so the Experiment only decides where the bytes go:
images to PNG (numpy arrays encoded here with zlib; PIL images through their
own ``save``), confusion matrices and curves to JSON, tables to CSV/TSV/JSON.
"""

from __future__ import annotations

import csv
import io
import struct
import zlib
from typing import Any

from comet_optimize import encoding, jsontext
from comet_optimize.errors import OptimizerException


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def array_to_png(array: Any, channels: str = "last", minmax: tuple | None = None) -> bytes:
    """A 2-d (grey) or 3-d (grey, RGB, RGBA) array as PNG bytes.

    Floats are scaled from ``minmax`` (default: the array's own range, or 0..1
    when it lies inside it) to 0..255, as Comet does.
    """
    import numpy as np

    data = np.asarray(array)
    if data.ndim == 3 and channels == "first":
        data = np.moveaxis(data, 0, -1)
    if data.ndim == 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim not in (2, 3) or (data.ndim == 3 and data.shape[-1] not in (3, 4)):
        raise encoding.Refused("log_image", f"log_image: an array of shape {data.shape} is "
                                           f"not an image (give height x width, or height x "
                                           f"width x 1, 3 or 4), so nothing was stored")
    if data.dtype != np.uint8:
        data = data.astype(float)
        low, high = minmax if minmax else (float(np.nanmin(data)), float(np.nanmax(data)))
        if not minmax and low >= 0 and high <= 1:
            low, high = 0.0, 1.0
        span = high - low or 1.0
        scaled = np.rint(np.nan_to_num((data - low) / span * 255))
        data = np.clip(scaled, 0, 255).astype(np.uint8)
    height, width = data.shape[:2]
    color = {2: 0, 3: 2, 4: 6}[data.ndim if data.ndim == 2 else data.shape[-1]]
    rows = data.reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(raw, 6)) + _png_chunk(b"IEND", b""))


def image_bytes(image: Any, image_format: str, channels: str,
                minmax: tuple | None) -> tuple[bytes, str]:
    """Image data that is not a path (bytes, PIL image, array, file object) as (bytes, ext)."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image), image_format
    if hasattr(image, "read"):
        return image.read(), image_format
    if hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image: duck-typed
        out = io.BytesIO()
        image.save(out, format=image_format.upper().replace("JPG", "JPEG"))
        return out.getvalue(), image_format
    if hasattr(image, "__array__") or isinstance(image, list):
        return array_to_png(image, channels, minmax), "png"
    raise encoding.Refused(
        "log_image", f"log_image: cannot make an image of a {type(image).__name__} (give a "
                     f"file path, bytes, a numpy array or a PIL image), so nothing was stored")


def _labels_of(values: Any) -> list[Any]:
    """Class indices from labels or from one-hot / probability rows."""
    import numpy as np

    data = np.asarray(values)
    if data.ndim == 2:
        return [int(i) for i in data.argmax(axis=1)]
    return [encoding.plain(v, "log_confusion_matrix") for v in data.tolist()]


def confusion_matrix(y_true: Any = None, y_predicted: Any = None, matrix: Any = None,
                     labels: list | None = None, title: str = "Confusion Matrix",
                     row_label: str = "Actual Category",
                     column_label: str = "Predicted Category") -> dict[str, Any]:
    """Comet's confusion-matrix document: from a matrix, or counted from two label lists."""
    if matrix is None:
        if y_true is None or y_predicted is None:
            raise OptimizerException("log_confusion_matrix needs matrix= or both y_true= and "
                                     "y_predicted=")
        actual, predicted = _labels_of(y_true), _labels_of(y_predicted)
        if len(actual) != len(predicted):
            raise encoding.Refused(
                "log_confusion_matrix", f"log_confusion_matrix: y_true has {len(actual)} "
                                        f"items, y_predicted {len(predicted)}, so nothing was "
                                        f"stored")
        classes = sorted(set(actual) | set(predicted), key=repr)
        if labels is not None and all(isinstance(c, int) for c in classes):
            classes = list(range(max(len(labels), max(classes, default=-1) + 1)))
        index = {c: i for i, c in enumerate(classes)}
        rows = [[0] * len(classes) for _ in classes]
        for a, p in zip(actual, predicted):
            rows[index[a]][index[p]] += 1
        if labels is None:
            labels = [str(c) for c in classes]
    else:
        rows = encoding.plain(matrix, "log_confusion_matrix: matrix")
        if not (isinstance(rows, list) and all(isinstance(r, list) for r in rows)):
            raise encoding.Refused("log_confusion_matrix", "log_confusion_matrix: matrix must "
                                                           "be a list of rows, so nothing was "
                                                           "stored")
        if labels is None:
            labels = [str(i) for i in range(len(rows))]
    return {"version": 1, "title": title, "labels": [str(x) for x in labels],
            "matrix": rows, "rowLabel": row_label, "columnLabel": column_label}


class ConfusionMatrix:
    """Comet's ``comet_ml.ConfusionMatrix``: scripts build one (from a matrix, or counted
    with `compute_matrix`) and pass it to ``log_confusion_matrix(matrix=...)``. Offline
    it holds the counts and the labels; examples and images per cell are not kept."""

    def __init__(self, y_true: Any = None, y_predicted: Any = None, labels: list | None = None,
                 matrix: Any = None, title: str = "Confusion Matrix",
                 row_label: str = "Actual Category",
                 column_label: str = "Predicted Category", **_: Any):
        self.labels, self.title = labels, title
        self.row_label, self.column_label = row_label, column_label
        self.matrix: list | None = None
        if matrix is not None or y_true is not None or y_predicted is not None:
            self.compute_matrix(y_true, y_predicted, matrix=matrix)

    def compute_matrix(self, y_true: Any = None, y_predicted: Any = None,
                       matrix: Any = None, **_: Any) -> None:
        document = confusion_matrix(y_true, y_predicted, matrix, self.labels)
        self.matrix, self.labels = document["matrix"], document["labels"]

    def need_init(self) -> bool:
        return self.matrix is None

    def clear(self) -> None:
        self.matrix = None

    def to_json(self) -> dict[str, Any]:
        if self.matrix is None:
            raise encoding.Refused(
                "log_confusion_matrix", "ConfusionMatrix has no counts yet (give it matrix= "
                                        "or y_true= and y_predicted=, or call "
                                        "compute_matrix()), so nothing was stored")
        return confusion_matrix(matrix=self.matrix, labels=self.labels, title=self.title,
                                row_label=self.row_label, column_label=self.column_label)

    def display(self, *args: Any, **kwargs: Any) -> None:
        """Comet draws it in a notebook; offline the counts are printed."""
        document = self.to_json()
        print(document["title"])
        for label, row in zip(document["labels"], document["matrix"]):
            print(f"  {label}: {row}")


def curve(name: str, x: Any, y: Any) -> dict[str, Any]:
    xs, ys = encoding.plain(x, f"curve {name!r}: x"), encoding.plain(y, f"curve {name!r}: y")
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
        raise encoding.Refused(f"log_curve {name!r}", f"log_curve {name!r}: x and y must be "
                                                      f"lists of equal length, so nothing was "
                                                      f"stored")
    return {"name": name, "x": xs, "y": ys}


def table_bytes(filename: str, data: Any, headers: Any = False) -> bytes:
    """A table (rows, a numpy array or a pandas DataFrame) in the format its name says."""
    lower = filename.lower()
    if hasattr(data, "to_csv") and hasattr(data, "columns"):  # a pandas DataFrame
        if lower.endswith(".json"):
            return encoding.utf8(data.to_json())
        if lower.endswith(".html"):
            return encoding.utf8(data.to_html())
        return encoding.utf8(data.to_csv(sep="\t" if lower.endswith(".tsv") else ","))
    rows = encoding.plain(data, f"log_table {filename!r}")
    if not isinstance(rows, list):
        raise encoding.Refused(f"log_table {filename!r}", f"log_table {filename!r}: "
                                                          f"tabular_data must be rows, so "
                                                          f"nothing was stored")
    rows = [row if isinstance(row, list) else [row] for row in rows]
    if lower.endswith(".json"):
        return jsontext.standard(rows).encode("utf-8")
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t" if lower.endswith(".tsv") else ",",
                        lineterminator="\n")
    if headers and headers is not True:
        writer.writerow(list(headers))
    writer.writerows(rows)
    return encoding.utf8(out.getvalue())


def wav_bytes(samples: Any, sample_rate: int) -> bytes:
    """A mono or (frames x channels) array as 16-bit PCM WAV; floats are taken as -1..1."""
    import wave

    import numpy as np

    data = np.asarray(samples)
    if data.dtype.kind == "f":
        data = (np.clip(data, -1, 1) * 32767).astype("<i2")
    else:
        data = data.astype("<i2")
    channels = 1 if data.ndim == 1 else data.shape[1]
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(int(sample_rate))
        writer.writeframes(data.tobytes())
    return out.getvalue()


def to_json_bytes(document: Any) -> bytes:
    return jsontext.indented(document, indent=1).encode("utf-8")
