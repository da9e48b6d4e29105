"""Options as data: a dataclass field says, once, its default, help, CLI spelling and choices.

    @dataclass(frozen=True)
    class ExportOptions:
        calib_samples: int = option(256, "Calibration images to use.", type=int)

`click_options(ExportOptions)` turns those fields into the command's Click options, and
`checked_keywords(ExportOptions, kw, "seedge.export")` refuses a keyword that is no field in
one line, so the CLI, the Python API and the library read one signature and one set of
defaults. Click stays the CLI (a generated `click.option` is what the command had before, so
option names, help and `seedge --help` are unchanged); typer/tyro would derive flags from type
hints and spell them their own way. Torch-free, and click is imported only to build a command.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from seedge.errors import SeedgeError, unknown

_KEY = "seedge.option"


def option(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    type: Any = None,
    metavar: str | None = None,
    choices: Iterable[str] | None = None,
    what: str | None = None,
    listed: bool = False,
    multiple: bool = False,
    show_default: bool | None = None,
    required: bool = False,
    parse: tuple[Callable[[str], Any], str] | None = None,
    factory: bool = False,
    cli: bool = True,
    elsewhere: str | None = None,
) -> Any:
    """A dataclass field with its default and how users reach it.

    flag: the CLI spelling ("--unsafe-pickle", "--pt2/--no-pt2"; default --field-name);
    choices: the owner's vocabulary (a click.Choice, or the names a `listed` comma list takes);
    what: how errors name the field ("calibration method"; default the flag); listed: a comma list
    on the CLI ("onnx,openvino"), a tuple in Python; cli=False with `elsewhere`: not one CLI option
    of its own, and why (the options that fill it, or the reason it is Python-only).
    parse: (function, hint) turning the CLI's text into the value; a ValueError is a usage error
    "'TEXT': hint". factory: `default` is called for each new object (a mutable default).
    """
    if not cli and not elsewhere:
        raise ValueError("an option that is not on the CLI says where it is reached (elsewhere=...)")
    meta = {
        "help": help,
        "flag": flag,
        "type": type,
        "metavar": metavar,
        "choices": tuple(choices) if choices is not None else None,
        "what": what,
        "listed": listed,
        "multiple": multiple,
        "show_default": show_default,
        "required": required,
        "parse": parse,
        "cli": cli,
        "elsewhere": elsewhere,
    }
    if factory:
        return dataclasses.field(default_factory=default, metadata={_KEY: meta})
    return dataclasses.field(default=default, metadata={_KEY: meta})


def spec(f: dataclasses.Field) -> dict:
    return f.metadata[_KEY]


def fields_of(cls) -> list[dataclasses.Field]:
    """The fields of `cls` declared with `option`, in declaration order."""
    return [f for f in dataclasses.fields(cls) if _KEY in f.metadata]


def flag_of(f: dataclasses.Field) -> str:
    """--calib-samples for calib_samples, or the spelling the field names."""
    return spec(f)["flag"] or "--" + f.name.replace("_", "-")


def what_of(f: dataclasses.Field) -> str:
    return spec(f)["what"] or flag_of(f).split("/")[0]


def default_of(cls, name: str):
    """The default of option `name` of `cls`: what another command offering the same choice reads."""
    (f,) = [f for f in fields_of(cls) if f.name == name]
    return f.default


def cli_default(f: dataclasses.Field):
    """The default as the CLI spells it: a comma list is one string ("torchscript,onnx,openvino")."""
    default = f.default
    if spec(f)["listed"] and isinstance(default, tuple):
        return ",".join(default)
    return default


def click_options(cls, *, start: str | None = None, stop: str | None = None) -> Callable:
    """Decorator adding a Click option for each CLI field of `cls` from `start` up to (not
    including) `stop`, in declaration order; the command receives them under the field names."""
    import click

    names = [f.name for f in fields_of(cls)]
    chosen = fields_of(cls)[names.index(start) if start else 0 : names.index(stop) if stop else None]

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        for f in reversed([f for f in chosen if spec(f)["cli"]]):
            s = spec(f)
            kw: dict[str, Any] = {"help": s["help"], "metavar": s["metavar"], "multiple": s["multiple"]}
            is_flag = isinstance(f.default, bool) and "/" not in flag_of(f)
            if is_flag:  # a single flag switches a False default on
                if f.default:
                    raise ValueError(f"{f.name}: a True default is spelled --{f.name}/--no-{f.name}")
                kw.update(is_flag=True, default=False)
            else:
                kw["default"] = () if s["multiple"] else cli_default(f)
                shown = s["show_default"]
                kw["show_default"] = (f.default is not None and not s["multiple"]) if shown is None else shown
            if s["choices"] is not None and not s["listed"]:
                kw["type"] = click.Choice(s["choices"])
            elif s["type"] is not None:
                kw["type"] = s["type"]
            if s["required"]:
                kw.update(required=True, default=None)
            if s["parse"]:
                kw["callback"] = _parsing(*s["parse"])
            fn = click.option(flag_of(f), f.name, **kw)(fn)
        return fn

    return wrap


def _parsing(parse: Callable[[str], Any], hint: str) -> Callable:
    """A Click callback: the option's text through `parse`; bad text is Click's usage error."""
    import click

    def callback(ctx, param, value):
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError:
            raise click.BadParameter(f"'{value}': {hint}") from None

    return callback


def checked_keywords(cls, keywords: dict, caller: str) -> dict:
    """`keywords` when each names an option of `cls`; otherwise one SeedgeError line listing them."""
    known = [f.name for f in fields_of(cls)]
    bad = [k for k in keywords if k not in known]
    if bad:
        raise SeedgeError(
            f"{caller}: unknown keyword{'s' if len(bad) > 1 else ''} {', '.join(bad)}; known: {', '.join(known)}"
        )
    return keywords


def check_choice(f: dataclasses.Field, value) -> None:
    """A value of a field with choices must be one of them: one line naming the choices."""
    choices = spec(f)["choices"]
    if choices is not None and value not in choices:
        raise unknown(what_of(f), value, choices)
