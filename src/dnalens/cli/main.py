"""Entry point: ``dnalens COMMAND ...``.

Errors in the user's input (:class:`dnalens.errors.DnalensError`) print one
line ``error: ...`` on stderr and exit with status 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from dnalens.errors import DnalensError

app = typer.Typer(
    name="dnalens",
    help="Deep learning on genomic DNA: build data, train, evaluate and predict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_state = {"debug": False}


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
) -> None:
    _state["debug"] = debug
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")


def _register_commands() -> None:
    from dnalens.cli import demo, evaluate, interpret, ism, predict, report, splice, train, variants

    for module in (train, evaluate, predict, variants, ism, interpret, report, demo, splice):
        module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    _register_commands()
    try:
        app(args=argv, standalone_mode=False, prog_name="dnalens")
    except DnalensError as err:
        if _state["debug"]:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (OSError, MemoryError) as err:
        if _state["debug"]:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; `dnalens train CONFIG --resume` continues a run",
              file=sys.stderr)
        return 130
    except typer.Exit as exit_:
        return exit_.exit_code
    except Exception as err:  # click usage errors arrive here in non-standalone mode
        if _is_click_error(err):
            return _report_usage_error(err, sys.argv[1:] if argv is None else argv)
        if isinstance(err, typer.Abort) or type(err).__name__ == "Abort":
            return 1
        raise
    return 0


def _click_error_types() -> tuple[type, ...]:
    """ClickException as installed: typer >= 0.20 vendors click as ``typer._click`` (its
    exceptions derive from ``typer.TyperException``); older typer uses click itself."""
    types: list[type] = []
    try:
        import click

        types.append(click.ClickException)
    except ImportError:  # pragma: no cover - typer without click
        pass
    vendored = getattr(typer, "TyperException", None)
    if isinstance(vendored, type):
        types.append(vendored)
    return tuple(types)


def _is_click_error(err: BaseException) -> bool:
    return isinstance(err, _click_error_types()) and hasattr(err, "format_message")


def _report_usage_error(err: Exception, argv: list[str]) -> int:
    """One ``error:`` line and the usage line, no traceback; exit status 2 for usage errors.

    ``dnalens`` with no command (click's NoArgsIsHelpError) prints the help, as click does.
    """
    exit_code = int(getattr(err, "exit_code", 2))
    ctx = getattr(err, "ctx", None)
    if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:
        print(ctx.get_help())
        return exit_code
    print(f"error: {err.format_message()}", file=sys.stderr)
    if ctx is not None:
        print(f"{ctx.get_usage()}  (see '{ctx.command_path} --help')", file=sys.stderr)
    else:  # click gives no context for an option missing its value: name the command
        words = [word for word in argv if not word.startswith("-")][:2]
        command = " ".join(words[: 2 if words[:1] == ["splice"] else 1])
        print(f"see 'dnalens {command} --help'".replace("  ", " "), file=sys.stderr)
    return exit_code


def run() -> None:
    sys.exit(main())
