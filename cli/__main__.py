"""`python -m cli`: the `citeqa` command."""

from cli.main import main

main()
