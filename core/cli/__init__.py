"""The headless command line, on top beside the pages: `python -m core.cli start|status|stop|resume|list`.

`commands` holds the parser and the commands; they read and write the same run records the
dashboard uses, so a run started here shows up there and the other way round.

May import: any core package (it is an entry point, like the pages).
"""
