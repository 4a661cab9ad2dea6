"""Browser tests of what a shared link can make the app show and fetch (issue 21).

Every request the browser makes is recorded; any that goes to a host other than
the app's own fails the test, with the offending addresses in its message.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from app_driver import PAGES, go_to_page, open_app, wait_for_images
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.e2e

# The two links of issue 21, as written there: a notice with a "Session expired"
# heading and a "Sign in" link to another site, and a tracking pixel.
SPOOFED_LINKS = (
    "/?space=x%0A%0A%23%23%20Session%20expired%0A%5BSign%20in%5D%28https%3A%2F%2Fevil.example%29",
    "/?image=%21%5Bx%5D%28https%3A%2F%2Fevil.example%2Ft.png%29",
)

# Addresses the browser answers itself, without a request to any host.
LOCAL_SCHEMES = {"data", "blob", "about"}
# The app's background colour, which follows the viewer's colour scheme.
_BACKGROUND_JS = "(app) => getComputedStyle(app).backgroundColor"
# The chart each page draws last, with what shows it drawn: 2D traces or a WebGL cube.
DRAWN_CHARTS = {
    "Choose k": ("elbow_chart", ".scatterlayer .trace"),
    "Explore in 3D": ("cube_chart", "canvas"),
    "Step by step": ("steps_chart", "canvas"),
    "Your data": ("elbow_chart", ".scatterlayer .trace"),
    "How it works": ("how_cube", "canvas"),
}
# Word joiners the app puts into outside text: invisible, but part of the page's text.
WORD_JOINER = "\u2060"


class Requests:
    """Every address the pages of a browser context ask for, web sockets included."""

    def __init__(self, context: BrowserContext) -> None:
        self.urls: list[str] = []
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", self.watch)

    def watch(self, page: Page) -> None:
        page.on("websocket", lambda socket: self.urls.append(socket.url))

    def foreign(self, app_url: str) -> list[str]:
        """The addresses not served by the app at ``app_url``, each once."""
        home = urlsplit(app_url).netloc
        return sorted(
            {
                url
                for url in self.urls
                if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).netloc != home
            }
        )


def walk_every_page(page: Page) -> None:
    """Open the app and visit each page in the menu, waiting for its pictures and charts."""
    open_app(page, "/")
    for app_page in PAGES:
        if app_page.path != "/redraw":  # the app opened on it
            go_to_page(page, app_page.title)
        wait_for_images(page)
        if app_page.title in DRAWN_CHARTS:
            key, drawn = DRAWN_CHARTS[app_page.title]
            expect(page.locator(f".st-key-{key}").locator(drawn).first).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
    page.wait_for_timeout(1_000)  # fonts and icons asked for as the last page is painted


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_walk_through_every_page_asks_only_the_app(
    new_context: Callable[..., BrowserContext], base_url: str, scheme: str
) -> None:
    context = new_context(color_scheme=scheme)
    requests = Requests(context)
    page = context.new_page()
    walk_every_page(page)
    background = page.get_by_test_id("stApp").evaluate(_BACKGROUND_JS)
    red, green, blue = (int(part) for part in background[4:-1].split(",")[:3])
    assert (red + green + blue < 3 * 128) == (scheme == "dark"), background
    assert len(requests.urls) > 50, "the walk was recorded"
    foreign = requests.foreign(base_url)
    assert not foreign, f"requests to other hosts in {scheme} mode:\n" + "\n".join(foreign)


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        (SPOOFED_LINKS[0], "The colour space “x ## Session expired [Sign in](https://…” is"),
        (SPOOFED_LINKS[1], "There is no sample picture called “![x](https://evil.example/t.png)”."),
    ],
    ids=["heading-and-link", "tracking-pixel"],
)
def test_a_spoofed_link_shows_its_text_and_fetches_nothing(
    new_context: Callable[..., BrowserContext], base_url: str, link: str, shown: str
) -> None:
    context = new_context()
    requests = Requests(context)
    page = context.new_page()
    open_app(page, link)
    wait_for_images(page)
    notice = page.get_by_test_id("stAlertContentWarning")
    expect(notice).to_have_count(1)
    assert shown in notice.inner_text().replace(WORD_JOINER, "")
    expect(notice.locator("h1, h2, h3, h4, h5, h6, a, img, strong, em, code")).to_have_count(0)
    main = page.get_by_test_id("stMain")
    expect(main.locator("a[href*='evil'], img[src*='evil']")).to_have_count(0)
    expect(main.get_by_role("heading", name="Session expired")).to_have_count(0)
    expect(main.get_by_role("link", name="Sign in")).to_have_count(0)
    page.wait_for_timeout(500)  # time for a request the page might make
    foreign = requests.foreign(base_url)
    assert not foreign, "requests to other hosts:\n" + "\n".join(foreign)
