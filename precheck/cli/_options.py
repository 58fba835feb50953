"""The commands' scan options, derived from ScanOptions (precheck/options.py): a decorator adds one
typer option per field to a command, and hands the command their values as one `options` dict."""
from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Annotated, Optional

import typer

from ..options import PANELS, scan_fields


def _parameter(field, how, overrides: bool) -> inspect.Parameter:
    annotation = how.cli_type if how.cli_type is not None else field.type
    if isinstance(annotation, str):  # `from __future__ import annotations` in options.py
        annotation = {"str": str, "int": int, "float": float, "bool": bool, "str | None": Optional[str],
                      "int | None": Optional[int]}[annotation]
    default = how.cli_default if how.cli_default is not None else (
        None if isinstance(field.default, tuple) or field.default is dataclasses.MISSING else field.default)
    help_text = how.help
    if overrides:
        # ci: unset means "as the config says"; a value given here wins for every model.
        annotation = annotation if how.cli_default is False else Optional[annotation]
        default = False if how.cli_default is False else None
        help_text = f"{how.help} Overrides the config for every model."
    info = typer.Option(*how.flags, help=help_text, rich_help_panel=PANELS[how.panel], metavar=how.metavar,
                        show_default=not overrides)
    return inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, info])


def _one_dtype(field, how, help_text: str) -> inspect.Parameter:
    """The table's --dtype as one precision (fix, train-check), fp16 by default; checked by resolve.py's
    ONE_DTYPE_LINE / HALF_DTYPE_LINE."""
    info = typer.Option(*how.flags, help=help_text, rich_help_panel=PANELS[how.panel])
    return inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default="fp16",
                             annotation=Annotated[str, info])


def with_scan_options(*, exclude: tuple[str, ...] = (), only: tuple[str, ...] | None = None, overrides: bool = False,
                      one_dtype: str | None = None):
    """Put the ScanOptions fields (`only` these, less `exclude`; with `overrides`, those `ci` takes) where the
    command's `options` parameter stands; the command gets their values as `options`. `one_dtype`: the help
    of --dtype taken as one precision (fix, train-check) instead of a list."""
    def decorate(command):
        signature = inspect.signature(command, eval_str=True)
        chosen = [(f, how) for f, how in scan_fields() if f.name not in exclude and (only is None or f.name in only)
                  and (how.ci_flag or not overrides) and not (one_dtype and f.name == "dtypes")]
        # Grouped by panel, in the order PANELS lists them: the help reads as sections.
        chosen.sort(key=lambda pair: list(PANELS).index(pair[1].panel))
        generated = [_parameter(f, how, overrides) for f, how in chosen]
        if one_dtype:
            generated.insert(0, _one_dtype(*next(row for row in scan_fields() if row[0].name == "dtypes"), one_dtype))
        names = {p.name for p in generated}
        parameters = []
        for parameter in signature.parameters.values():
            if parameter.name == "options":
                parameters.extend(generated)
            else:
                parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(command)
        def run(**values):
            options = {name: values.pop(name) for name in names}
            return command(options=options, **values)

        del run.__wrapped__  # typer reads the signature below, not the command's own
        run.__signature__ = signature.replace(parameters=parameters)
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run
    return decorate
