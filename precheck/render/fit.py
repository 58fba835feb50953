"""Tables that print whole at the console's width: figures never cut, names folded, columns moved.

rich lays a table that is too wide out by shrinking every column and ending cells in `…`; in a
CI log (80 columns) that cut the very figures the gate is about. Here a table whose unbreakable
columns do not fit is split into parts that repeat its key columns instead.
"""
from __future__ import annotations

import dataclasses

from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table

# How narrow a foldable column (a name, a path, a message) may get before the table is split:
# under this a module path folds into a pile of short lines.
_FOLD_FLOOR = 16


def _column_width(console: Console, table: Table, column: Column) -> int:
    """The width a column needs, padding included: its widest cell, or the fold floor for names."""
    options = console.options
    sizes = [Measurement.get(console, options, cell) for cell in (column.header, *column.cells)]
    if column.width is not None:
        widest = column.width
    elif column.no_wrap:
        widest = max(size.maximum for size in sizes)
    else:  # wraps between words, folds a word longer than the floor
        widest = min(max(size.minimum for size in sizes), _FOLD_FLOOR)
    left, right = table.padding[3], table.padding[1]
    return widest + left + right


def _table_width(widths: list[int], table: Table) -> int:
    edges = 2 if table.show_edge and table.box is not None else 0
    inner = len(widths) - 1 if table.box is not None else 0
    return sum(widths) + edges + inner


def fits(table: Table, console: Console) -> bool:
    """Whether every figure fits on one line and every name at least the fold floor."""
    return _table_width([_column_width(console, table, c) for c in table.columns], table) <= console.width


def fitted(table: Table, console: Console, key: int = 1) -> list[Table]:
    """`table` itself when it fits; otherwise parts that each repeat the first `key` columns."""
    if fits(table, console) or len(table.columns) <= key + 1:
        return [table]
    widths = [_column_width(console, table, c) for c in table.columns]
    groups: list[list[int]] = [[]]
    for index in range(key, len(table.columns)):
        trial = [*range(key), *groups[-1], index]
        if groups[-1] and _table_width([widths[i] for i in trial], table) > console.width:
            groups.append([])
        groups[-1].append(index)
    parts = []
    for number, group in enumerate(groups):
        part = Table(
            *[dataclasses.replace(table.columns[i], _index=n) for n, i in enumerate([*range(key), *group])],
            title=table.title if number == 0 else None,
            title_justify=table.title_justify,
            caption=table.caption if number == len(groups) - 1 else None,
            caption_justify=table.caption_justify,
            box=table.box,
            show_edge=table.show_edge,
            padding=table.padding,
        )
        part.rows = list(table.rows)
        parts.append(part)
    return parts


def print_table(console: Console, table: Table, key: int = 1) -> None:
    # A word wider than its column folds onto the next line rather than ending in `…`.
    for column in table.columns:
        if not column.no_wrap:
            column.overflow = "fold"
    for number, part in enumerate(fitted(table, console, key)):
        if number and table.title:
            # Above the part, not its title: a narrow part would fold a title it shares the width of.
            console.print(f"{table.title} (continued)", highlight=False, markup=False)
        console.print(part)


def print_code(console: Console, heading: str, code: str) -> None:
    """A snippet outside any frame, neither cut nor wrapped: it is there to be copied."""
    from rich.syntax import Syntax
    from rich.text import Text

    widest = max((len(line) for line in code.splitlines()), default=1)
    console.print(Text(heading, style="bold"))
    console.print(Syntax(code, "python", theme="ansi_dark", background_color="default", code_width=widest),
                  soft_wrap=True)


def phrases(text: str) -> list[str]:
    """`text` cut after each ", ", "; " and ": ": the places a line may break without splitting
    a figure from its name ("min cosine 0.999998") or a parenthesis from its words."""
    import re

    return [part for part in re.split(r"(?<=[,;:]) ", text) if part]


def print_wrapped(console: Console, body: str, lead=None, indent: int = 2) -> None:
    """`lead` (a styled Text or a string), then `body`, broken only between phrases (see `phrases`),
    each further line indented; a phrase longer than a whole line breaks between its words."""
    from rich.cells import cell_len
    from rich.text import Text

    line = Text(lead) if isinstance(lead, str) else (lead.copy() if lead is not None else Text())
    start = line.cell_len  # a line holding no more than this holds nothing of the body yet
    out = Text()

    def add(unit: str, fits_fresh: bool) -> bool:
        nonlocal line, start
        sep = "" if line.cell_len == start or line.plain.endswith(" ") else " "
        if cell_len(unit) <= console.width - line.cell_len - len(sep):
            line.append(sep + unit)
            return True
        # Behind a short lead ("note:") the words fill the line; behind a long one (a server and
        # its flag) the phrase starts the next line whole.
        if not fits_fresh or (line.cell_len == start and start < 12):
            return False
        if line.cell_len > start or start >= 12:
            line.rstrip()
            out.append_text(line)
            out.append("\n")
            line, start = Text(" " * indent), indent
        line.append(unit)
        return True

    for phrase in phrases(body):
        if not add(phrase, cell_len(phrase) <= console.width - indent):
            for word in phrase.split(" "):
                if not add(word, True):  # a word alone behind a short lead: it starts the line
                    line.append(("" if line.plain.endswith(" ") else " ") + word)
    out.append_text(line)
    console.print(out, highlight=False, overflow="fold")
