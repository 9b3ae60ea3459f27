"""Files an experiment logs (assets, models, images, tables...): copied under its folder.

Where they go: for the file store, ``<store>/<optimizer id>/assets/<experiment
key>/``, next to the journal; for the PostgreSQL store (whose rows live on a
server) a folder on the machine that ran the experiment,
``$COMET_OPTIMIZE_ASSETS/<optimizer id>/<experiment key>/`` (default
``~/.comet_optimize/assets``). A standalone Experiment (no search) uses its
``offline_directory`` or ``./.comet_optimize_assets``. The journal records
only each file's metadata (`AssetFolder.add` returns it): name, type, path
relative to the experiment's folder, size, step, the user's metadata.

Each file is limited to `max_bytes` (100 MB by default, like Comet's upload
limit; ``COMET_OPTIMIZE_MAX_ASSET_MB`` changes it): a larger one is left out
with one warning giving its size and the limit, and the script goes on.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from typing import Any, BinaryIO

from comet_optimize import encoding, messages, safe_files, settings
from comet_optimize.errors import OptimizerException

DEFAULT_MAX_MB = 100.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=@-]+")
# File systems refuse components over 255 bytes and paths over 4,096: a name
# longer than these is shortened (a prefix and a digest, so names stay apart).
MAX_COMPONENT = 120
MAX_DEPTH = 16


def _warn(refused: encoding.Refused) -> None:
    messages.warning(str(refused))


def max_bytes() -> int:
    """A bad ``COMET_OPTIMIZE_MAX_ASSET_MB`` (``abc``, ``nan``, ``-1``) is one warning and
    the default: it raised at the first file logged, or let through a NaN limit."""
    megabytes = settings.number_from_env("COMET_OPTIMIZE_MAX_ASSET_MB", DEFAULT_MAX_MB,
                                         "megabytes")
    return int(min(megabytes, 2.0 ** 53) * 1_000_000)


def folder_for(store: Any, optimizer_id: str | None, experiment_key: str,
               offline_directory: str | None = None) -> str:
    """The experiment's folder (not created yet)."""
    if optimizer_id is None:
        root = offline_directory or os.path.join(os.getcwd(), ".comet_optimize_assets")
        return os.path.join(os.path.abspath(root), experiment_key)
    folder = getattr(store, "folder", None)
    if callable(folder):  # the file store: next to the journal
        return os.path.join(folder(optimizer_id), "assets", experiment_key)
    root = os.environ.get("COMET_OPTIMIZE_ASSETS") or os.path.join(
        os.path.expanduser("~"), ".comet_optimize", "assets")
    return os.path.join(root, optimizer_id, experiment_key)


def safe_name(name: str) -> str:
    """A file name that stays inside its folder (no separators, no dot-dot) and that
    every file system accepts, however long or deep the name the script gave."""
    parts = [_UNSAFE.sub("_", part) for part in str(name).replace("\\", "/").split("/")]
    parts = [_shortened(p) for p in parts if p not in ("", ".", "..")]
    if len(parts) > MAX_DEPTH:
        parts = parts[:MAX_DEPTH - 1] + [_shortened("_".join(parts[MAX_DEPTH - 1:]))]
    return "/".join(parts) or "asset"


def _shortened(part: str) -> str:
    if len(part) <= MAX_COMPONENT:
        return part
    digest = hashlib.sha256(encoding.utf8(part)).hexdigest()[:12]
    stem, ext = os.path.splitext(part)
    ext = ext if len(ext) <= 16 else ""
    return f"{stem[:MAX_COMPONENT - len(ext) - 13]}-{digest}{ext}"


def human(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size} bytes"


class AssetFolder:
    """One experiment's files; every method is called under the experiment's lock."""

    def __init__(self, path: str):
        self.path = path

    def ensure(self) -> str:
        """Create the folder; its last two levels (``assets/<key>``) may not be links,
        so a planted link cannot lead the experiment's files out of the search."""
        above = os.path.dirname(os.path.dirname(self.path))
        os.makedirs(above, mode=0o700, exist_ok=True)
        safe_files.make_folders(above, os.path.relpath(self.path, above))
        return self.path

    def _opened(self, relative: str, append: bool = False) -> BinaryIO:
        """``relative`` opened for writing inside the (ensured) folder: its folders are
        made one level at a time and nothing is written through a link."""
        safe_files.make_folders(self.path, os.path.dirname(relative))
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        return open(safe_files.open_plain(os.path.join(self.path, relative), flags),
                    "ab" if append else "wb")

    def write(self, relative: str, data: bytes | str, append: bool = False) -> int:
        """Write one file of the experiment; its new size."""
        self.ensure()
        with self._opened(relative, append) as handle:
            handle.write(encoding.utf8(data) if isinstance(data, str) else data)
            return handle.tell()

    def copy_in(self, relative: str, source: str) -> None:
        """Copy the file ``source`` to ``relative`` in the (ensured) folder."""
        with open(source, "rb") as original, self._opened(relative) as handle:
            shutil.copyfileobj(original, handle)

    def _target(self, kind: str, name: str, overwrite: bool) -> str:
        """Where a new file goes, relative to the folder (which this ensures)."""
        relative = os.path.join(kind, safe_name(name))
        self.ensure()
        if not overwrite and os.path.lexists(os.path.join(self.path, relative)):
            stem, ext = os.path.splitext(relative)  # keep both, as Comet does
            number = 2
            while os.path.lexists(os.path.join(self.path, f"{stem}-{number}{ext}")):
                number += 1
            relative = f"{stem}-{number}{ext}"
        return relative

    def add(self, what: str, source: Any, name: str, kind: str, overwrite: bool = False,
            **fields: Any) -> dict[str, Any]:
        """Copy ``source`` in (a path, bytes, or a binary file object); its metadata."""
        limit = max_bytes()
        data: bytes | None = None
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            if not os.path.isfile(path):
                raise encoding.Refused(f"{what} {path!r}", f"{what}: {path!r} is not a file, "
                                                           f"so nothing was stored")
            size = os.path.getsize(path)
        else:
            if isinstance(source, (bytes, bytearray, memoryview)):
                data = bytes(source)
            elif hasattr(source, "read"):
                data = source.read()
                if isinstance(data, str):
                    data = encoding.utf8(data)
            else:
                raise OptimizerException(f"{what}: cannot store a {type(source).__name__}; "
                                         f"give a file path, bytes, or a file object")
            size = len(data)
        if size > limit:
            raise encoding.Refused(
                f"{what} {name!r}", f"{what}: {name!r} is {human(size)}, over the "
                                    f"{human(limit)} limit per file, so it was not stored "
                                    f"(COMET_OPTIMIZE_MAX_ASSET_MB raises it)")
        try:
            relative = self._target(kind, name, overwrite)
            if data is None:
                self.copy_in(relative, path)
            else:
                with self._opened(relative) as handle:
                    handle.write(data)
        except OSError as error:  # a full disk, say: the experiment and its score go on
            raise encoding.Refused(
                f"{what} {name!r}", f"{what}: could not store {encoding.short(name)} in "
                                    f"{self.path}: {safe_files.describe(error)}") from None
        return {"fileName": name, "type": kind, "path": relative, "size": size,
                **{k: v for k, v in fields.items() if v is not None}}

    def add_folder(self, what: str, folder: str, kind: str, recursive: bool,
                   prefix: str | None = None, suffix: str = "",
                   on_refused: Callable[[encoding.Refused], None] | None = None,
                   **fields: Any) -> list[dict[str, Any]]:
        """Every file of ``folder``; one that cannot be kept (too big, unreadable) goes
        to ``on_refused`` and the others are still stored."""
        if not os.path.isdir(folder):
            raise encoding.Refused(f"{what} {folder!r}", f"{what}: {folder!r} is not a "
                                                         f"folder, so nothing was stored")
        entries = []
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for file_name in sorted(f for f in files if f.endswith(suffix)):
                source = os.path.join(root, file_name)
                name = os.path.relpath(source, folder)
                if prefix:
                    name = os.path.join(prefix, name)
                try:
                    entries.append(self.add(what, source, name, kind, **fields))
                except encoding.Refused as refused:
                    (on_refused or _warn)(refused)
            if not recursive:
                break
        return entries
