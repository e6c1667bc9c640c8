"""``import statesafe.guard.auto``: the one-line start-up form of the guard.

Put it first in a script to run the rest of it guarded (enforce mode, the policy
of the working directory). ``STATESAFE_GUARD=warn`` in the environment selects
warn mode instead.
"""

import os

from statesafe import guard

guard.install("warn" if os.environ.get("STATESAFE_GUARD") == "warn" else "enforce")
