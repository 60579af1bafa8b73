"""Subprocess entry point for :class:`tests.infra.localstripe_server.LocalStripe`.

    python _run_localstripe.py PORT STATE_FILE

``STATE_FILE`` may be ``""`` to keep the state in memory only.

localstripe's own ``localstripe`` command binds ``::`` (all interfaces) and
pickles its whole store to the fixed path ``/tmp/localstripe.pickle`` after
every write, loading it back on start.  Two test runs would share (and
corrupt) that file, and a run would start with objects left by the previous
one.  So instead we patch ``Store``'s two persistence methods to use a private
file (or nothing), start from an empty store, and bind 127.0.0.1 only.
"""

import os
import pickle
import sys
import threading
import time

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def _follow_parent(parent_pid: int) -> None:
    """Exit when the process that started us is gone (e.g. pytest got
    SIGKILLed), so that no fake Stripe outlives its test run."""
    while os.getppid() == parent_pid:
        time.sleep(1)
    os._exit(0)


def main() -> None:
    port = int(sys.argv[1])
    state_file = sys.argv[2] if len(sys.argv) > 2 else ""

    def dump_to_disk(store: resources.Store) -> None:
        if state_file:
            with open(state_file, "wb") as f:
                pickle.dump(store, f, protocol=pickle.HIGHEST_PROTOCOL)

    def try_load_from_disk(store: resources.Store) -> None:
        """Never load: every server starts empty."""

    resources.Store.dump_to_disk = dump_to_disk
    resources.Store.try_load_from_disk = try_load_from_disk
    resources.store.clear()

    threading.Thread(target=_follow_parent, args=(os.getppid(),), daemon=True).start()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
