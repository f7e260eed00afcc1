"""`python -m core.disk`: the disk planner's command line (core.disk.cli)."""
import sys

from core.disk.cli import main

sys.exit(main())
