"""Peak memory (RSS) of the app's server while a browser uses every page.

Starts ``streamlit run streamlit_app.py`` the way the browser tests do, then drives
it with Playwright and Debian's Chromium through every page with the default
picture; uploads a 12-megapixel photo-like PNG that this script makes (china.jpg
upscaled to 4000 x 3000 with Lanczos plus Gaussian noise of sigma 3, about 1.5
million colours), downloads its full-size redraw and walks every page again.
A thread samples the server's RSS, with any child processes, throughout.
Target: a peak under 600 MB (Community Cloud's smallest apps get about 690 MB).

Run: ``python benchmarks/bench_memory.py`` (exits 1 when the peak is over target).
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from pathlib import Path

import psutil
from PIL import Image as PILImage
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_driver import PAGES, go_to_page, open_app, upload_picture, wait_for_images  # noqa: E402
from streamlit_server import chromium_launch_args, chromium_missing_reason, run_streamlit  # noqa: E402
from workloads import photo_12mp  # noqa: E402

TARGET_MB = 600
MB = 1_000_000
SAMPLE_SECONDS = 0.05
# Work on a 12-megapixel picture can take minutes on a busy 2-core machine.
TIMEOUT_MS = 600_000


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

    def rss(self) -> int:
        """Resident memory of the process and all its children, in bytes."""
        total = 0
        for process in [self.process, *self.process.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _record(self) -> None:
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), self.rss())

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            self._record()

    def start_phase(self, name: str) -> None:
        """Close the current phase (with one last sample) and start measuring ``name``."""
        self._record()
        now = time.perf_counter()
        self.seconds[self.phase] = now - self._phase_start
        self.phase, self._phase_start = name, now
        self._record()

    def stop(self) -> None:
        """Close the last phase and stop sampling."""
        self.start_phase("(stopped)")
        self._done.set()
        self.join()
        del self.peaks["(stopped)"]


def photo_png() -> bytes:
    """The 12-megapixel benchmark photo as PNG bytes (under the 25 MB upload limit)."""
    buffer = io.BytesIO()
    PILImage.fromarray(photo_12mp()).save(buffer, format="PNG")
    return buffer.getvalue()


def walk_pages(page: Page, sampler: RssSampler, picture: str, titles: list[str]) -> None:
    """Visit the pages called ``titles`` in turn, waiting for each to finish with its images."""
    for title in titles:
        sampler.start_phase(f"{picture}: {title}")
        go_to_page(page, title, TIMEOUT_MS)
        wait_for_images(page, TIMEOUT_MS)


def main() -> int:
    """Run the walk, print the table of per-phase peaks, and return the exit status."""
    if (reason := chromium_missing_reason()) is not None:
        print(reason, file=sys.stderr)
        return 2
    png = photo_png()
    print(f"CPUs: {os.cpu_count()}  upload: 4000 x 3000 PNG, {len(png) / MB:.1f} MB")
    with run_streamlit() as server, sync_playwright() as playwright:
        sampler = RssSampler(server.process.pid)
        sampler.start()
        browser = playwright.chromium.launch(**chromium_launch_args())
        page = browser.new_page(base_url=server.url, viewport={"width": 1400, "height": 1000})
        titles = [app_page.title for app_page in PAGES]
        sampler.start_phase(f"default picture: {titles[0]} (first load)")
        open_app(page, "/", TIMEOUT_MS)
        wait_for_images(page, TIMEOUT_MS)
        walk_pages(page, sampler, "default picture", titles[1:])
        sampler.start_phase(f"12 MP upload: upload on {titles[-1]}")
        upload_picture(page, "photo-12mp.png", png, "image/png", TIMEOUT_MS)
        wait_for_images(page, TIMEOUT_MS)
        walk_pages(page, sampler, "12 MP upload", titles[:1])
        sampler.start_phase("12 MP upload: full-size PNG download")
        with page.expect_download(timeout=TIMEOUT_MS) as download:
            page.locator(".st-key-download_png").get_by_role("button").click()
        download.value.path()  # waits until the whole file has arrived
        walk_pages(page, sampler, "12 MP upload", titles[1:-1])
        sampler.stop()
        browser.close()

    width = max(len(name) for name in sampler.peaks)
    print(f"\n{'phase':<{width}}  {'peak RSS (MB)':>13}  {'seconds':>8}")
    for name, peak in sampler.peaks.items():
        print(f"{name:<{width}}  {peak / MB:>13.0f}  {sampler.seconds[name]:>8.1f}")
    peak = max(sampler.peaks.values()) / MB
    verdict = "PASS" if peak < TARGET_MB else "FAIL"
    print(f"\nPeak server RSS: {peak:.0f} MB (target under {TARGET_MB} MB): {verdict}")
    return 0 if peak < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
