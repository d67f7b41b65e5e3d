"""`python -m offline.parity`: the capability table of the k8s and heroku stacks."""

import sys

from offline.parity import main

sys.exit(main())
