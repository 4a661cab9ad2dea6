"""Pieces the app benchmarks share: the server's RSS, the page's problems, targets.

``RssSampler`` samples the Streamlit server's memory (with its children) in a thread;
``PAGE_PROBLEMS_JS`` lists what a viewer would see go wrong (run it with Playwright's
``page.evaluate``, sync or async); ``Check`` and ``print_checks`` print a measured
number beside its target with a met / NOT met verdict.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

MB = 1_000_000
SAMPLE_SECONDS = 0.05
# Community Cloud's smallest apps get about 690 MB.
CLOUD_MEMORY_MB = 690


class RssSampler(threading.Thread):
    """Samples a process tree's total RSS and keeps the peak of each named phase."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.phase = "server started, idle"
        self.peaks: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._phase_start = time.perf_counter()
        self._done = threading.Event()
        self._lock = threading.Lock()

    def rss(self) -> int:
        """Resident memory of the process and all its children, in bytes."""
        total = 0
        try:
            processes = [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _record(self) -> None:
        rss = self.rss()
        with self._lock:
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            self._record()

    def start_phase(self, name: str) -> None:
        """Close the current phase (with one last sample) and start measuring ``name``."""
        self._record()
        now = time.perf_counter()
        with self._lock:
            self.seconds[self.phase] = now - self._phase_start
            self.phase, self._phase_start = name, now
        self._record()

    def stop(self) -> None:
        """Close the last phase and stop sampling."""
        self.start_phase("(stopped)")
        self._done.set()
        self.join()
        del self.peaks["(stopped)"]

    @property
    def peak_mb(self) -> float:
        """The highest RSS seen in any phase, in MB."""
        return max(self.peaks.values()) / MB

    def print_phases(self) -> None:
        """A table of each phase's peak RSS and duration."""
        width = max(len(name) for name in self.peaks)
        print(f"\n{'phase':<{width}}  {'peak RSS (MB)':>13}  {'seconds':>8}")
        for name, peak in self.peaks.items():
            print(f"{name:<{width}}  {peak / MB:>13.0f}  {self.seconds[name]:>8.1f}")


# What a viewer would see go wrong: exceptions, error alerts and any dialog (such as
# Streamlit's "Page not found"). Returns one "kind: text" string per problem.
PAGE_PROBLEMS_JS = """
() => {
    const texts = (selector) => [...document.querySelectorAll(selector)]
        .map((element) => element.innerText.trim().replace(/\\s+/g, ' ').slice(0, 300));
    return [
        ...texts('[data-testid="stException"]').map((text) => 'exception: ' + text),
        ...texts('[data-testid="stAlertContentError"]').map((text) => 'error: ' + text),
        ...texts('[role="dialog"]').map((text) => 'dialog: ' + text),
    ];
}
"""


@dataclass(frozen=True)
class Check:
    """A measured number against an upper limit."""

    what: str
    value: float
    limit: float
    unit: str = "s"

    @property
    def met(self) -> bool:
        return self.value < self.limit


def print_checks(checks: Iterable[Check], title: str = "Targets") -> bool:
    """Print each check with its target and verdict; True when every one is met."""
    checks = list(checks)
    if not checks:
        return True
    width = max(len(check.what) for check in checks)
    print(f"\n{title}")
    print(f"{'':<{width}}  {'measured':>10}  {'target':>10}  verdict")
    for check in checks:
        digits = 2 if check.unit == "s" else 0
        value = f"{check.value:.{digits}f} {check.unit}"
        limit = f"< {check.limit:g} {check.unit}"
        verdict = "met" if check.met else "NOT met"
        print(f"{check.what:<{width}}  {value:>10}  {limit:>10}  {verdict}")
    return all(check.met for check in checks)


def add_list_option(parser: argparse.ArgumentParser, flag: str, choices: Iterable[str]) -> None:
    """Add ``flag``: a comma-separated list among ``choices`` (all of them by default)."""
    choices = list(choices)

    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        if unknown := [name for name in names if name not in choices]:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown)}; choose among {', '.join(choices)}"
            )
        return names

    parser.add_argument(
        flag,
        type=parse,
        default=choices,
        help=f"comma-separated among {', '.join(choices)} (default: all)",
    )
