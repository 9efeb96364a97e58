"""The command line: one thin module per subcommand (parse, call the library, map errors)."""

from dvcall.cli.main import main, run

__all__ = ["main", "run"]
