"""`python -m extension` is `genesys-om`."""

import sys

from .cli import main

sys.exit(main())
