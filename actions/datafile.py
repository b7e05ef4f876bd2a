"""Reads the YAML data files a practice edits, keeping line numbers for clear error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

LINE_KEY = "__line__"


class DataFileError(ValueError):
    """A data file is missing, unreadable or has a wrong entry; the message names file and line."""

    def __init__(self, path: Path | str, message: str, line: Optional[int] = None) -> None:
        """Builds `<path>:<line>: <message>`."""
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that stores the 1-based line of every mapping under `__line__`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Dict[str, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{key}' appears twice in the same entry", key_node.start_mark
            )
        seen.add(key)
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE_KEY] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path | str) -> Dict[str, Any]:
    """Parses a YAML data file whose top level is a mapping.

    Raises:
        DataFileError: the file is missing, is not valid YAML, or its top level is not a mapping.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise DataFileError(path, "file not found") from error
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError(path, f"cannot be read ({error})") from error
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise DataFileError(path, f"invalid YAML: {error.problem}", line) from error
    except yaml.YAMLError as error:
        raise DataFileError(path, f"invalid YAML: {error}") from error
    if not isinstance(data, dict):
        raise DataFileError(path, "the file must hold a mapping (key: value) at the top level")
    return data


class Entry:
    """Typed access to one mapping of a data file, raising `DataFileError` with its line."""

    def __init__(self, path: Path | str, data: Any, what: str, line: Optional[int] = None) -> None:
        """Wraps `data`, which must be a mapping; `what` names it in error messages."""
        self.path = path
        self.what = what
        if not isinstance(data, dict):
            raise DataFileError(path, f"{what} must be a mapping (key: value)", line)
        self.data = data
        self.line = data.get(LINE_KEY, line)

    def error(self, message: str) -> DataFileError:
        """Returns an error about this entry."""
        return DataFileError(self.path, f"{self.what}: {message}", self.line)

    def text(self, key: str, *, required: bool = True, allow_empty: bool = False) -> str:
        """Returns a string field, stripped; empty only when `allow_empty`."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(f"'{key}' is missing")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.error(f"'{key}' must be text")
        value = str(value).strip()
        if not value and not allow_empty:
            raise self.error(f"'{key}' is empty")
        return value

    def text_list(self, key: str, *, required: bool = True) -> List[str]:
        """Returns a list of non-empty strings."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(f"'{key}' is missing")
            return []
        if not isinstance(value, list) or not all(isinstance(item, (str, int)) and str(item).strip() for item in value):
            raise self.error(f"'{key}' must be a list of non-empty texts")
        return [str(item).strip() for item in value]

    def entries(self, key: str, what: Callable[[int], str], *, required: bool = True) -> List[Entry]:
        """Returns the mappings of a list field as entries; `what(i)` names item i."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(f"'{key}' is missing")
            return []
        if not isinstance(value, list):
            raise self.error(f"'{key}' must be a list")
        return [Entry(self.path, item, what(i), self.line) for i, item in enumerate(value)]

    def mapping(self, key: str, *, required: bool = True) -> Dict[str, Any]:
        """Returns a mapping field without line bookkeeping."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(f"'{key}' is missing")
            return {}
        if not isinstance(value, dict):
            raise self.error(f"'{key}' must be a mapping (key: value)")
        return {k: v for k, v in value.items() if k != LINE_KEY}

    def version(self, supported: int = 1) -> None:
        """Checks the file format version."""
        if self.data.get("version") != supported:
            raise self.error(f"'version' must be {supported}")
