"""``harness`` command line. Heavy modules (torch, runner, models) are imported inside the commands that need
them, so ``harness --help`` and ``harness list`` stay fast.

Exit codes (README "Exit codes"): 0 ok; 1 a regression found (``harness regress`` only); 2 a usage or input error
(one stderr line ``error: ...`` naming the culprit); 3 an internal error (a bug: traceback shown); 130 interrupted
(Ctrl-C, SIGTERM, SIGHUP: the run is marked interrupted and resumes with the same command)."""

from __future__ import annotations

import signal
import sqlite3
import sys
import traceback

import click
import typer

from harness.commands import boards, judge, listing, report, run
from harness.commands.boards import _float  # noqa: F401  (re-exported for the tests)
from harness.commands.common import err_console
from harness.commands.run import _max_failures  # noqa: F401  (re-exported for the tests)
from harness.errors import HarnessError

try:  # typer >= 0.16 raises the exceptions of the click copy it bundles, not those of the click package
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Benchmark and evaluation harness for multimodal models.",
)

# The verbs, in the order `harness --help` lists them; each lives in harness/commands/ by role.
app.command("list")(listing.list_)
app.command("eval")(run.eval_)
app.command()(boards.leaderboard)
app.command()(report.report)
app.command()(listing.show)
app.command()(boards.compare)
app.command("judge-agree")(judge.judge_agree)
app.command()(boards.regress)
app.command()(boards.power)


def _add_plugin_commands() -> None:
    """Sub-command groups from the ``harness.commands`` entry-point group (a typer.Typer each, named by the entry
    point), so a reference system can add verbs (``harness recipe ...``) without the engine importing it."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="harness.commands"):
        sub = ep.load()
        if not isinstance(sub, typer.Typer):
            raise HarnessError(f"entry point harness.commands:{ep.name} = {ep.value} is not a typer.Typer")
        app.add_typer(sub, name=ep.name)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C: the run is marked interrupted and resumes later."""


_signal_name = {"name": "SIGINT"}


def _on_signal(signum, frame):
    _signal_name["name"] = signal.Signals(signum).name
    raise Interrupted(_signal_name["name"])


def _error(message: str, code: int) -> None:
    err_console.print(
        f"error: {' '.join(str(message).split())}", markup=False, highlight=False, emoji=False, soft_wrap=True
    )
    sys.exit(code)


def _usage_message(e) -> str:
    """A click usage error as one line naming the command and the culprit option."""
    ctx = getattr(e, "ctx", None)
    where = ctx.command_path if ctx is not None else "harness"
    return f"{where}: {e.format_message()} (see `{where} --help`)"


def main() -> None:
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, _on_signal)
    try:
        _add_plugin_commands()
        rc = app(standalone_mode=False, prog_name="harness")
    except HarnessError as e:
        _error(str(e), EXIT_USAGE)
    except (_typer_click.NoArgsIsHelpError, click.exceptions.NoArgsIsHelpError) as e:
        print(e.ctx.get_help() if e.ctx is not None else "")
        _error(
            f"{e.ctx.command_path if e.ctx is not None else 'harness'}: no command given (see the list above)",
            EXIT_USAGE,
        )
    except (_typer_click.ClickException, click.ClickException) as e:
        _error(
            _usage_message(e) if isinstance(e, (_typer_click.UsageError, click.UsageError)) else e.format_message(),
            EXIT_USAGE,
        )
    except (typer.Abort, click.exceptions.Abort, KeyboardInterrupt):
        rc = EXIT_INTERRUPTED
    except sqlite3.Error as e:  # the store wraps its own errors; this is a last line of defence
        _error(f"results store: {e}", EXIT_USAGE)
    except OSError as e:
        _error(f"{e.filename or 'I/O'}: {e.strerror or e}", EXIT_USAGE)
    except Exception:  # noqa: BLE001 — a bug: show where, with a distinct exit code
        traceback.print_exc()
        sys.exit(EXIT_INTERNAL)
    if rc == EXIT_INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
        _error(
            f"interrupted ({_signal_name['name']}): stopped; the same command resumes where it stopped",
            EXIT_INTERRUPTED,
        )
    sys.exit(rc if isinstance(rc, int) else 0)
