"""Peak memory (RSS) of the app's server while a browser uses every page.

Each case starts its own ``streamlit run streamlit_app.py`` (the way the browser tests
do), drives it with Playwright and Debian's Chromium through every page with the
default picture, uploads a photo-like picture that this script makes (see
``workloads.py``), walks Redraw, downloads its full-size redraw and walks the other
pages. A thread samples the server's RSS, with any child processes, throughout.
Anything the page shows going wrong (an exception, an error, a dialog) is printed.

Cases (``--case``, comma-separated; all by default):
  12mp       a 4000 x 3000 noisy PNG (about 20 MB)
  49mp-jpeg  a 7000 x 7000 noisy JPEG (about 7 MB)
  49mp-png   a 7000 x 7000 PNG (about 20 MB: no noise, so it fits the 25 MB upload limit)
Target for each case: a peak under 600 MB (Community Cloud's smallest apps get about 690 MB).

Run: ``python benchmarks/bench_memory.py [--case 12mp,49mp-jpeg,49mp-png]``
(exits 1 when a peak is over target or the page showed a problem).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_driver import PAGES, go_to_page, open_app, upload_picture, wait_for_images  # noqa: E402
from server_probe import MB, PAGE_PROBLEMS_JS, Check, RssSampler, add_list_option, print_checks  # noqa: E402
from streamlit_server import chromium_launch_args, chromium_missing_reason, run_streamlit  # noqa: E402
from workloads import photo_12mp_png, photo_49mp_jpeg, photo_49mp_png  # noqa: E402

TARGET_MB = 600
# Work on a 49-megapixel picture can take minutes on a busy 2-core machine.
TIMEOUT_MS = 600_000


class Case(NamedTuple):
    """An upload: its label, file name, MIME type and the function that makes its bytes."""

    label: str
    file_name: str
    mime: str
    make: Callable[[], bytes]


CASES = {
    "12mp": Case("12 MP PNG", "photo-12mp.png", "image/png", photo_12mp_png),
    "49mp-jpeg": Case("49 MP JPEG", "photo-49mp.jpg", "image/jpeg", photo_49mp_jpeg),
    "49mp-png": Case("49 MP PNG", "photo-49mp.png", "image/png", photo_49mp_png),
}


def start_phase(sampler: RssSampler, name: str) -> None:
    """Start measuring phase ``name`` and say so (a long walk shows its progress)."""
    sampler.start_phase(name)
    print(f"  {name}", flush=True)


def check_page(page: Page, sampler: RssSampler, problems: list[str]) -> None:
    """Note anything the page shows going wrong, under the current phase's name."""
    for problem in page.evaluate(PAGE_PROBLEMS_JS):
        problems.append(f"{sampler.phase}: {problem}")
        print(f"  PROBLEM in {sampler.phase}: {problem}", flush=True)


def walk_pages(
    page: Page, sampler: RssSampler, picture: str, titles: list[str], problems: list[str]
) -> None:
    """Visit the pages called ``titles`` in turn, waiting for each to finish with its images."""
    for title in titles:
        start_phase(sampler, f"{picture}: {title}")
        go_to_page(page, title, TIMEOUT_MS)
        wait_for_images(page, TIMEOUT_MS)
        check_page(page, sampler, problems)


def run_case(case: Case) -> tuple[float, list[str]]:
    """One viewer's walk in a fresh server; print its phases and return (peak MB, problems)."""
    data = case.make()
    print(f"\n== {case.label}: upload {case.file_name}, {len(data) / MB:.1f} MB", flush=True)
    problems: list[str] = []
    with run_streamlit() as server, sync_playwright() as playwright:
        sampler = RssSampler(server.process.pid)
        sampler.start()
        browser = playwright.chromium.launch(**chromium_launch_args())
        try:
            page = browser.new_page(base_url=server.url, viewport={"width": 1400, "height": 1000})
            titles = [app_page.title for app_page in PAGES]
            start_phase(sampler, f"default picture: {titles[0]} (first load)")
            open_app(page, "/", TIMEOUT_MS)
            wait_for_images(page, TIMEOUT_MS)
            check_page(page, sampler, problems)
            walk_pages(page, sampler, "default picture", titles[1:], problems)
            start_phase(sampler, f"{case.label}: upload on {titles[-1]}")
            upload_picture(page, case.file_name, data, case.mime, TIMEOUT_MS)
            del data
            wait_for_images(page, TIMEOUT_MS)
            check_page(page, sampler, problems)
            walk_pages(page, sampler, case.label, titles[:1], problems)
            start_phase(sampler, f"{case.label}: full-size PNG download")
            with page.expect_download(timeout=TIMEOUT_MS) as download:
                page.locator(".st-key-download_png").get_by_role("button").click()
            download.value.path()  # waits until the whole file has arrived
            walk_pages(page, sampler, case.label, titles[1:-1], problems)
        finally:
            sampler.stop()
            browser.close()
    sampler.print_phases()
    return sampler.peak_mb, problems


def main() -> int:
    """Run the chosen cases, print the peaks against the target, and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_list_option(parser, "--case", CASES)
    args = parser.parse_args()
    names = args.case
    if (reason := chromium_missing_reason()) is not None:
        print(reason, file=sys.stderr)
        return 2
    print(f"CPUs: {os.cpu_count()}  cases: {', '.join(names)}")
    checks = []
    for name in names:
        case = CASES[name]
        try:
            peak, problems = run_case(case)
        except Exception as error:  # a timeout or a dead server fails this case, not the run
            print(f"  FAILED: {type(error).__name__}: {str(error)[:500]}", flush=True)
            checks.append(Check(f"{case.label}: walk finished", 1, 0, "failures"))
            continue
        checks.append(Check(f"{case.label}: peak server RSS", peak, TARGET_MB, "MB"))
        checks.append(Check(f"{case.label}: problems on the page", len(problems), 1, ""))
    return 0 if print_checks(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
