"""``python -m bot`` is the same as ``kanal``."""

import sys

from bot.cli import main

sys.exit(main())
