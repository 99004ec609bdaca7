"""Tables the tests fill in and pytest prints at the end of the run, so a reader sees what was proved.

Example:
    >>> report("Hostile uploads", ("case", "outcome"), "truncated PNG", "refused")
"""

from __future__ import annotations

from collections import defaultdict

_HEADERS: dict[str, tuple[str, ...]] = {}
_ROWS: dict[str, dict[str, list[str]]] = defaultdict(dict)


def report(table: str, header: tuple[str, ...], key: str, *cells: str, column: int | None = None) -> None:
    """Put `cells` in the row `key` of `table` (from `column` on, when several tests fill one row)."""
    _HEADERS[table] = header
    row = _ROWS[table].setdefault(key, [key] + [""] * (len(header) - 1))
    start = column if column is not None else 1
    row[start : start + len(cells)] = [str(cell) for cell in cells]


def render_tables(width: int = 140) -> list[str]:
    lines: list[str] = []
    for table, rows in _ROWS.items():
        header = _HEADERS[table]
        widths = [min(max(len(r[i]) for r in [*rows.values(), list(header)]), 60) for i in range(len(header) - 1)]
        lines += ["", f"{table} ({len(rows)} cases)", "-" * width]
        for row in [list(header), *rows.values()]:
            cells = [row[i].replace("\n", " ")[: widths[i]].ljust(widths[i]) for i in range(len(header) - 1)]
            lines.append(" | ".join([*cells, row[-1].replace("\n", " ")]))
    return lines
