"""`python -m taskline`: the `taskline` command, for a Python whose scripts are not on PATH."""

from taskline.cli import main

main()
