"""`python -m tradeclf` runs the command-line interface, the same as the `tradeclf` command."""

from .cli import app

app(prog_name="tradeclf")
