"""`python -m e3.cli` runs the e3 command."""

from e3.cli import main

main()
