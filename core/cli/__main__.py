"""`python -m core.cli ...`: see core.cli.commands."""
import sys

from core.cli.commands import main

sys.exit(main())
