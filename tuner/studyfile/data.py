"""The ``[data]`` table: where the data comes from, checked by :mod:`tuner.data`."""

from __future__ import annotations

from ..data import DataSpec, check_data
from ..errors import StudyFileError
from ..tomlfile import TomlTable

_SOURCES = ("dataset", "generator", "csv")


def _read_data(data: TomlTable) -> tuple[DataSpec, bool]:
    given = [k for k in _SOURCES if k in data.values]
    if len(given) != 1:
        found = f"; found {', '.join(given)}" if given else ""
        raise StudyFileError(
            data.path, data.name, f"give exactly one of {', '.join(_SOURCES)}{found}"
        )
    kind = given[0]
    for key, owner in (("args", "generator"), ("target", "csv")):
        if key in data.values and kind != owner:
            raise data.error(key, reason=f"only used with {owner}")
    spec = DataSpec(
        kind=kind,
        name=data.get(kind, "a string"),
        args=data.get("args", "a table", default={}),
        target=data.get("target", "a string") if kind == "csv" else None,
        origin=data.path,
    )
    check_data(spec)  # tuner.data knows what it can load
    return spec, data.get("scale", "a boolean", default=True)
