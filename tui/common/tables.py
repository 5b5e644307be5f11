"""DataTable columns of fixed widths.

Auto-width columns measured after the table first drew keep their old widths in Textual's
render cache, so tables filled by a worker use fixed widths (which also suit 80 columns).
"""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable


def add_columns(table: DataTable[Any], columns: list[tuple[str, int]]) -> None:
    for label, width in columns:
        table.add_column(label, width=width, key=label.lower())
