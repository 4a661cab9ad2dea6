"""Logs, inside a Streamlit server, when each session's rerun requests arrive and its runs end.

``bench_load.py`` puts this folder on the server's ``PYTHONPATH`` and names a file in
``KMEANS_RUN_LOG``; Python then imports this module at start-up. Each line is
``request <session id> <time>`` or ``finished <session id> <time>`` (seconds since the
epoch). The server's answer to a step is then timed where the server is, not where a
busy browser notices the answer. Each hold of a lock of the store is logged too, as
``hold <session id> <time it ended> <seconds> <what>``, and each result it computes as
``computed <session id> <time> <seconds> <function>`` (``kmeans_app.store`` logs both
at DEBUG). Without ``KMEANS_RUN_LOG`` nothing is changed.
"""

import logging
import os
import re
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

    _STORE_EVENTS = {
        "hold": re.compile(r"lock held ([0-9.]+) s by (\S+) for session (\S+)"),
        "computed": re.compile(r"computed (\S+) in ([0-9.]+) s for session (\S+)"),
    }

    class _Holds(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            for event, pattern in _STORE_EVENTS.items():
                if match := pattern.fullmatch(record.getMessage()):
                    first, second, session_id = match.groups()
                    seconds, name = (first, second) if event == "hold" else (second, first)
                    with _lock:
                        _log.write(f"{event} {session_id} {record.created:.3f} {seconds} {name}\n")

    _store_log = logging.getLogger("kmeans_app.store")
    _store_log.setLevel(logging.DEBUG)
    _store_log.addHandler(_Holds())
