"""Checks that job payloads and results are plain JSON before they leave the caller.

RQ's JSON serializer would fail later, in the worker or halfway through a Redis write; checking
here turns that into an error in the caller's process that names the offending field.

Example:
    >>> to_json_payload({"upload_id": 7, "tags": ["a", "b"]})
    {'upload_id': 7, 'tags': ['a', 'b']}
    >>> to_json_payload({"when": datetime.now()})
    Traceback (most recent call last):
    InvalidJobData: Job data is not JSON: data['when'] is a datetime ...
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .errors import InvalidJobData

JSON_SCALARS = (str, int, float, bool, type(None))


def to_json_payload(data: Any, *, what: str = "data") -> dict[str, Any]:
    """Return `data` as a dict of JSON values; a dataclass instance is converted with asdict()."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    if not isinstance(data, dict):
        raise InvalidJobData(
            f"Job {what} must be a dict of JSON values (or a dataclass instance), got {type(data).__name__}."
        )
    check_json_value(data, path=what, what=what)
    return data


def check_json_value(value: Any, *, path: str, what: str = "data") -> None:
    """Raise InvalidJobData naming `path` if `value` is not made only of JSON values."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidJobData(f"Job {what} is not JSON: {path} is {value!r}, which JSON cannot represent.")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidJobData(
                    f"Job {what} is not JSON: {path} has the key {key!r} of type "
                    f"{type(key).__name__}; JSON object keys must be strings."
                )
            check_json_value(item, path=f"{path}[{key!r}]", what=what)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_json_value(item, path=f"{path}[{index}]", what=what)
        return
    raise InvalidJobData(
        f"Job {what} is not JSON: {path} is a {type(value).__module__}.{type(value).__qualname__} "
        f"({value!r:.80}); use str, int, float, bool, None, list or dict."
    )
