"""Write docs/cli.md: the --help of every ``python -m core`` command, as the command prints it.

    python scripts/cli_reference.py          # rewrite docs/cli.md after changing core/cli.py

tests/test_cli.py fails when docs/cli.md no longer matches the command line.
"""
import os
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "cli.md"
WIDTH = 100  # columns argparse wraps the help to (it reads $COLUMNS)


def render():
    """The reference page's text, built from core.cli's own parser."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from core.cli import build_parser

    parser = build_parser()
    with mock.patch.dict(os.environ, COLUMNS=str(WIDTH)):  # argparse wraps to the terminal's width
        parts = ["# The command line\n",
                 "Every command and option of `python -m core`, exactly as `--help` prints them "
                 "(written by `python scripts/cli_reference.py`).\n",
                 f"```text\n{parser.format_help()}```\n"]
        parts += [f"## {name}\n\n```text\n{command.format_help()}```\n"
                  for name, command in subcommands(parser).items()]
    return "\n".join(parts)


def subcommands(parser):
    """{name: parser} of the command line's sub-commands (argparse keeps them only here)."""
    return parser._subparsers._group_actions[0].choices


if __name__ == "__main__":
    REFERENCE.write_text(render(), encoding="utf-8")
    print(f"wrote {REFERENCE.relative_to(ROOT)}")
