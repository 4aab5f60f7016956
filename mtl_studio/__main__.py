"""`python -m mtl_studio` is the `mtl-studio` command."""

import sys

from .cli import main

sys.exit(main())
