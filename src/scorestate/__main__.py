"""`python -m scorestate` is the `scorestate` command."""

from scorestate.cli import main

main()
