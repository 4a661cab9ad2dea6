"""What the app works on, named by content so caches can be keyed on a short string.

Each class has a ``cache_key``; :mod:`kmeans_app.cache` hashes these objects by
that key alone, so an uploaded file's bytes are never re-hashed on a rerun.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A built-in sample (picture or table) or an uploaded file.

    ``cache_key`` is "sample:<name>" or "upload:<sha256 of the bytes>".
    """

    cache_key: str
    name: str
    data: bytes | None = None

    @classmethod
    def sample(cls, name: str) -> Source:
        """The built-in sample called ``name``."""
        return cls(cache_key=f"sample:{name}", name=name)

    @classmethod
    def upload(cls, name: str, data: bytes) -> Source:
        """An uploaded file, keyed by the SHA-256 of its content."""
        return cls(f"upload:{hashlib.sha256(data).hexdigest()}", name, data)

    @property
    def sample_name(self) -> str | None:
        """The sample's name, or None for an upload."""
        return None if self.data is not None else self.name


@dataclass(frozen=True)
class PicturePoints:
    """A picture's distinct colours as k-means points in one colour space."""

    source: Source
    space: str

    @property
    def cache_key(self) -> str:
        """The picture's key and the colour space."""
        return f"{self.source.cache_key}|{self.space}"


@dataclass(frozen=True)
class TablePoints:
    """Chosen numeric columns of a table (a workbook's ``sheet``), scaled, as k-means points."""

    source: Source
    columns: tuple[str, ...]
    scaling: str
    sheet: str | None = None

    @property
    def cache_key(self) -> str:
        """The table's key, the columns, the scaling and the sheet."""
        return f"{self.source.cache_key}|{self.columns!r}|{self.scaling}|{self.sheet!r}"
