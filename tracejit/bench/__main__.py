"""``python -m tracejit.bench FILE.py:function --shape ... [--compare ...]``."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
