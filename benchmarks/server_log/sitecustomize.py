"""Logs, inside a Streamlit server, when each session's rerun requests arrive and its runs end.

``bench_load.py`` puts this folder on the server's ``PYTHONPATH`` and names a file in
``KMEANS_RUN_LOG``; Python then imports this module at start-up. Each line is
``request <session id> <time>`` or ``finished <session id> <time>`` (seconds since the
epoch). The server's answer to a step is then timed where the server is, not where a
busy browser notices the answer. Without ``KMEANS_RUN_LOG`` nothing is changed.
"""

import os
import threading
import time

_PATH = os.environ.get("KMEANS_RUN_LOG")

if _PATH:
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    _log = open(_PATH, "a", buffering=1)  # noqa: SIM115 (open while the server runs)
    _lock = threading.Lock()

    def _write(event: str, session_id: str) -> None:
        with _lock:
            _log.write(f"{event} {session_id} {time.time():.3f}\n")

    _handle_backmsg = AppSession.handle_backmsg
    _run_script = ScriptRunner._run_script

    def handle_backmsg(self, msg):
        if msg.WhichOneof("type") == "rerun_script":
            _write("request", self.id)
        return _handle_backmsg(self, msg)

    def run_script(self, rerun_data):
        try:
            return _run_script(self, rerun_data)
        finally:
            _write("finished", self._session_id)

    AppSession.handle_backmsg = handle_backmsg
    ScriptRunner._run_script = run_script
