"""tinct serve, end to end: the real server, headless Debian chromium driven by Playwright.

Uploads a photo, waits for the colorization, clicks a spot, adds a hint and checks that the
pixel's colour changed (read back from a canvas and from the downloaded full-resolution
file), drags and nudges the hint, adds a reference photo (palette and transfer), shows the
uncertainty overlay, and looks at the page at a 390 px phone width. Screenshots go to
``tests/artifacts/``.

Skipped, loudly, only when chromium cannot be launched (``apt-get install chromium``;
never ``playwright install``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port

pytest.importorskip("fastapi", reason="tinct serve needs the 'serve' extra (fastapi, uvicorn, python-multipart)")
pytest.importorskip("uvicorn", reason="tinct serve needs uvicorn")
playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs the playwright package")

from PIL import Image  # noqa: E402

from tinct.colorizer import DEFAULT_TEMPERATURE  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SERVER = """
import sys
import torch
torch.set_num_threads(1)  # a model may be training on this machine
from tinct.serve.app import run
run("127.0.0.1", int(sys.argv[1]), temp_dir=sys.argv[2], log_level="warning")
"""
SKY = (250, 60)  # a point of sky in the 512 x 512 camera photo
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real server in a subprocess on a free loopback port; its temp dir must be empty after it stops."""
    temp = tmp_path_factory.mktemp("serve-tmp")
    port = free_port()
    log = open(temp.parent / "server.log", "w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(temp)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"tinct serve exited with {proc.returncode}:\n{log.read()}")
        try:
            with urllib.request.urlopen(f"{base}/api/info", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("tinct serve did not start within 90 s")
        time.sleep(0.2)
    yield base
    proc.send_signal(signal.SIGINT)  # what Ctrl+C does: graceful shutdown, temp folder removed
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    assert list(temp.iterdir()) == [], "the server left files behind"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        msg = f"!!! BROWSER TEST SKIPPED: {CHROMIUM} not found (apt-get install chromium) !!!"
        print(msg, file=sys.stderr)
        pytest.skip(msg)
    with playwright_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001 - any launch failure is a skip, said loudly
            msg = f"!!! BROWSER TEST SKIPPED: chromium cannot be launched: {exc} !!!"
            print(msg, file=sys.stderr)
            pytest.skip(msg)
        yield b
        b.close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    import skimage.data

    d = tmp_path_factory.mktemp("photos")
    out = {"camera": d / "camera.png", "coffee": d / "coffee.jpg", "notes": d / "notes.txt",
           "babcia": d / "Babcia Łucja 1938.png", "astronaut": d / "astronaut.png"}
    Image.fromarray(skimage.data.camera()).save(out["camera"])
    Image.fromarray(skimage.data.camera()[:, ::-1]).save(out["babcia"])  # other bytes: an upload of its own
    Image.fromarray(skimage.data.coffee()).save(out["coffee"], quality=90)
    Image.fromarray(skimage.data.astronaut()[::2, ::2]).save(out["astronaut"])
    out["notes"].write_text("not a photo at all\n" * 20)
    ARTIFACTS.mkdir(exist_ok=True)
    return out


def renders(page) -> int:
    return int(page.get_attribute("#frame", "data-renders") or 0)


def poll(page, ready, what: str, timeout_ms: int = TIMEOUT_MS) -> float:
    """Wait until ``ready()`` is true (polled from here: the page's CSP forbids Playwright's
    eval-based ``wait_for_function``, and the test keeps the CSP on); seconds taken."""
    start = time.perf_counter()
    while not ready():
        if time.perf_counter() - start > timeout_ms / 1000:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(40)
    return time.perf_counter() - start


def wait_render(page, after: int) -> float:
    """Wait until the page shows a result newer than render number ``after``; seconds taken."""
    return poll(page, lambda: renders(page) > after, f"render {after + 1}")


def pixel(page, x: int, y: int) -> np.ndarray:
    """RGB of photo pixel (x, y) of the shown result, read back from a canvas."""
    return np.array(page.evaluate(
        """([x, y, w, h]) => {
            const img = document.getElementById('after');
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            const ctx = c.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const px = Math.floor(x * img.naturalWidth / w), py = Math.floor(y * img.naturalHeight / h);
            const d = ctx.getImageData(px, py, 1, 1).data;
            return [d[0], d[1], d[2]];
        }""", [x, y, 512, 512]), dtype=int)


def screen_point(page, x: float, y: float) -> tuple[float, float]:
    box = page.locator("#before").bounding_box()
    return box["x"] + (x + 0.5) / 512 * box["width"], box["y"] + (y + 0.5) / 512 * box["height"]


def test_colorize_guide_reference_and_download(server, browser, photos):
    t0 = time.perf_counter()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    failed: list[tuple[int, str]] = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "blob:", "data:")) else None)

    page.goto(server + "/")
    page.wait_for_selector("#pick-photo")
    page.screenshot(path=str(ARTIFACTS / "serve-desktop-1-start.png"))

    # 1. a photo -> the automatic result, with the before/after slider
    page.set_input_files("#photo-input", str(photos["camera"]))
    wait_render(page, 0)
    assert page.is_visible("#viewer") and not page.is_visible("#drop")
    poll(page, lambda: page.evaluate("() => document.getElementById('before').naturalWidth") > 0, "the photo")
    auto = pixel(page, *SKY)
    page.fill("#compare", "20")
    assert page.evaluate("document.getElementById('after-wrap').style.clipPath") == "inset(0px 0px 0px 20%)"

    # 2. click a spot -> the model's suggestions, then a colour of our own -> a hint, result updates
    page.mouse.click(*screen_point(page, *SKY))
    page.wait_for_selector("#point-card:not([hidden]) .swatch", timeout=TIMEOUT_MS)
    assert page.text_content("#point-xy") == f"({SKY[0]}, {SKY[1]})"
    assert page.locator(".swatch").count() >= 3
    page.screenshot(path=str(ARTIFACTS / "serve-desktop-2-suggestions.png"))
    page.fill("#custom-color", "#10d040")
    n = renders(page)
    page.click("#add-hint")
    seconds = wait_render(page, n)
    print(f"hint -> updated result in {seconds:.2f} s")
    assert seconds < 20
    guided = pixel(page, *SKY)
    assert np.abs(guided - auto).max() > 30, (auto, guided)
    assert guided[1] > guided[0] + 15 and guided[1] > guided[2] + 15, guided  # green now
    assert page.text_content("#hint-count") == "1"
    assert page.locator(".marker:not(.marker-pending)").count() == 1

    # a suggested colour on the selected hint recolours it
    n = renders(page)
    page.locator(".swatch").first.click()
    wait_render(page, n)
    first_hex = page.locator(".swatch").first.get_attribute("data-hex")
    assert page.locator(".hint-list input[type=color]").first.input_value() == first_hex
    n = renders(page)
    page.fill("#custom-color", "#10d040")  # back to green (live update of the selected hint)
    wait_render(page, n)

    # 3. drag the hint, then nudge it with the keyboard
    marker = page.locator(".marker:not(.marker-pending)").first
    box = marker.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    target = screen_point(page, 320, 90)
    page.mouse.move(*target, steps=8)
    n = renders(page)
    page.mouse.up()
    wait_render(page, n)
    pos = page.text_content(".hint-pos")
    x, y = (int(v) for v in pos.strip("()").split(","))
    assert abs(x - 320) <= 3 and abs(y - 90) <= 3, pos
    assert page.evaluate("document.activeElement.classList.contains('marker')")
    n = renders(page)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowUp")
    wait_render(page, n)
    x2, y2 = (int(v) for v in page.text_content(".hint-pos").strip("()").split(","))
    assert x2 < x and y2 < y
    page.screenshot(path=str(ARTIFACTS / "serve-desktop-3-hint.png"))

    # 4. download the full-resolution result: the hint is in it
    with page.expect_download() as info:
        page.click("#download")
    saved = ARTIFACTS / "serve-download.png"
    info.value.save_as(saved)
    full = np.asarray(Image.open(saved))
    assert full.shape == (512, 512, 3)
    g = full[y2, x2].astype(int)
    assert g[1] > g[0] + 15 and g[1] > g[2] + 15, g
    page.select_option("#format", "jpg")
    assert page.get_attribute("#download", "href").endswith(".jpg?download=1")

    # 5. a reference photo: palette prior, then style transfer with a method and strength
    n = renders(page)
    page.set_input_files("#ref-input", str(photos["coffee"]))
    wait_render(page, n)
    assert page.is_visible("#ref-box") and page.text_content("#ref-name") == "coffee.jpg"
    spots = [(100, 400), (320, 90), (250, 250), (400, 300), (60, 60)]
    with_palette = np.array([pixel(page, x, y) for x, y in spots])
    n = renders(page)
    page.check("input[name=ref-mode][value=transfer]")
    wait_render(page, n)
    n = renders(page)
    page.select_option("#method", "hm-mkl-hm")
    wait_render(page, n)
    transferred = np.array([pixel(page, x, y) for x, y in spots])
    assert np.abs(transferred - with_palette).max() > 3, (with_palette, transferred)
    page.fill("#compare", "0")
    page.screenshot(path=str(ARTIFACTS / "serve-desktop-4-reference.png"))

    # 6. the uncertainty overlay
    page.check("#show-overlay")
    page.wait_for_selector("#overlay:not([hidden])", timeout=TIMEOUT_MS)
    poll(page, lambda: page.evaluate("() => document.getElementById('overlay').naturalWidth") > 0, "the overlay")
    assert "bits" in page.text_content("#overlay-text")
    assert page.is_hidden("#divider")  # no before/after split over the map
    page.screenshot(path=str(ARTIFACTS / "serve-desktop-5-overlay.png"))
    page.uncheck("#show-overlay")
    assert page.is_hidden("#overlay") and page.is_visible("#divider")

    # 7. errors from the API are shown in the page
    page.set_input_files("#ref-input", str(photos["notes"]))
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    assert "notes.txt: not an image" in page.text_content("#error-text")
    page.screenshot(path=str(ARTIFACTS / "serve-desktop-6-error.png"))
    page.click("#error-close")
    assert page.is_hidden("#error")

    # 8. the keyboard: a crosshair on the photo, Enter picks the spot; Delete removes a hint
    page.locator("#frame").focus()
    assert page.is_visible("#crosshair")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_selector("#point-card:not([hidden]) .swatch", timeout=TIMEOUT_MS)
    assert page.text_content("#point-xy") == f"({int(0.6 * 512)}, {int(0.52 * 512)})"
    poll(page, lambda: page.locator("#point-card").bounding_box()["y"] >= 60, "the colour card in view", 5000)
    page.screenshot(path=str(ARTIFACTS / "serve-desktop-7-keyboard.png"))
    page.keyboard.press("Escape")
    assert page.is_hidden("#point-card")
    page.locator(".marker:not(.marker-pending)").first.focus()
    n = renders(page)
    page.keyboard.press("Delete")
    wait_render(page, n)
    assert page.text_content("#hint-count") == "0"

    # 9. the look sliders start at the server's defaults (the model card's temperature); Reset returns there
    assert float(page.input_value("#temperature")) == pytest.approx(DEFAULT_TEMPERATURE)
    n = renders(page)
    page.fill("#temperature", "0.3")
    wait_render(page, n)
    assert page.text_content("#temperature-out") == "0.30"
    n = renders(page)
    page.click("#reset-look")
    wait_render(page, n)
    assert float(page.input_value("#temperature")) == pytest.approx(DEFAULT_TEMPERATURE)

    # 10. "Faded photo" re-renders with levels=true (the network sees stretched tones); Reset clears it
    n = renders(page)
    with page.expect_request(lambda r: r.url.endswith("/api/colorize") and r.method == "POST") as request:
        page.check("#levels")
    assert 'name="levels"\r\n\r\ntrue' in request.value.post_data
    wait_render(page, n)
    n = renders(page)
    page.click("#reset-look")
    wait_render(page, n)
    assert not page.is_checked("#levels")

    assert not problems, problems
    assert [s for s, _ in failed] == [415], failed  # only the text file of step 7
    assert not outside, f"the page fetched from elsewhere: {outside}"
    context.close()
    print(f"desktop flow took {time.perf_counter() - t0:.1f} s")


def test_phone_width_layout(server, browser, photos):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, has_touch=True,
                                  is_mobile=True)
    page = context.new_page()
    page.goto(server + "/")
    page.screenshot(path=str(ARTIFACTS / "serve-phone-1-start.png"))
    page.set_input_files("#photo-input", str(photos["camera"]))
    wait_render(page, 0)
    # nothing sticks out sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    frame = page.locator("#frame").bounding_box()
    assert frame["width"] <= 390 and frame["x"] >= 0
    page.tap("#frame", position={"x": frame["width"] * 0.49, "y": frame["height"] * 0.12})
    page.wait_for_selector("#point-card:not([hidden]) .swatch", timeout=TIMEOUT_MS)
    n = renders(page)
    page.locator(".swatch").nth(1).tap()
    wait_render(page, n)
    assert page.text_content("#hint-count") == "1"
    page.screenshot(path=str(ARTIFACTS / "serve-phone-2-result.png"))
    page.screenshot(path=str(ARTIFACTS / "serve-phone-3-full.png"), full_page=True)

    # touch: a vertical swipe on the photo scrolls the page; the knob and a hint still drag
    cdp = context.new_cdp_session(page)

    def swipe(x0: float, y0: float, x1: float, y1: float) -> None:
        """A finger from (x0, y0) to (x1, y1), in viewport pixels (real touch events: touch-action applies)."""
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
        for i in range(1, 13):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                {"x": x0 + (x1 - x0) * i / 12, "y": y0 + (y1 - y0) * i / 12}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_timeout(300)

    page.evaluate("window.scrollTo(0, 0)")
    frame = page.locator("#frame").bounding_box()
    x, y = frame["x"] + frame["width"] * 0.3, frame["y"] + frame["height"] * 0.8
    swipe(x, y, x, y - 200)
    assert page.evaluate("window.scrollY") > 100  # the page moved under the finger
    assert page.text_content("#hint-count") == "1"  # and the swipe added no hint
    page.evaluate("window.scrollTo(0, 0)")
    knob = page.locator("#divider-knob").bounding_box()
    kx, ky = knob["x"] + knob["width"] / 2, knob["y"] + knob["height"] / 2
    swipe(kx, ky, frame["x"] + frame["width"] * 0.8, ky)
    assert 70 <= int(page.input_value("#compare")) <= 90
    marker = page.locator(".marker:not(.marker-pending)").first.bounding_box()
    before = page.text_content(".hint-pos")
    n = renders(page)
    mx, my = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2
    swipe(mx, my, mx, my + frame["height"] * 0.3)
    wait_render(page, n)
    hx, hy = (int(v) for v in page.text_content(".hint-pos").strip("()").split(","))
    bx, by = (int(v) for v in before.strip("()").split(","))
    assert abs(hx - bx) <= 6 and hy - by > 100, (before, hx, hy)
    assert page.evaluate("window.scrollY") < 20  # dragging the hint did not scroll
    context.close()


# ----------------------------------------------------------------------------- reviewed bugs


def open_page(browser, server, init_script: str | None = None, **kw):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True, **kw)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.goto(server + "/")
    page.wait_for_selector("#pick-photo")
    return context, page


def open_photo(page, path: Path) -> None:
    n = renders(page)
    page.set_input_files("#photo-input", str(path))
    wait_render(page, n)


def add_hint_with_keyboard(page) -> str:
    """Tab to the photo, Enter picks the spot, Tab to the first suggestion, Enter adds it; its hex."""
    page.locator("#frame").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#point-card:not([hidden]) .swatch", timeout=TIMEOUT_MS)
    first = page.locator(".swatch").first
    hex_ = first.get_attribute("data-hex")
    first.focus()
    n = renders(page)
    page.keyboard.press("Enter")
    wait_render(page, n)
    return hex_


def test_a_photo_named_in_any_script_colorizes_and_downloads_under_its_name(server, browser, photos):
    context, page = open_page(browser, server)
    open_photo(page, photos["babcia"])
    assert page.is_hidden("#error")
    with page.expect_download() as info:
        page.click("#download")
    assert info.value.suggested_filename == "Babcia Łucja 1938-colorized.png"
    context.close()


# Counts the "abort" listeners on AbortSignals that are still attached (the page's own code is unchanged).
COUNT_ABORT_LISTENERS = """
(() => {
  const add = EventTarget.prototype.addEventListener, remove = EventTarget.prototype.removeEventListener;
  const live = new Set();
  window.abortListeners = () => live.size;
  EventTarget.prototype.addEventListener = function (type, fn, opts) {
    if (this instanceof AbortSignal && type === "abort") live.add(fn);
    return add.call(this, type, fn, opts);
  };
  EventTarget.prototype.removeEventListener = function (type, fn, opts) {
    if (this instanceof AbortSignal && type === "abort") live.delete(fn);
    return remove.call(this, type, fn, opts);
  };
})();
"""


def test_a_busy_server_is_waited_for_and_images_are_retried(server, browser, photos):
    """The server's busy answer (503 + Retry-After: 1), eight times in a row for the colorization and
    twice for the photo's image; the page keeps trying, says it is waiting, and gets there. Each
    wait listens for the render being abandoned, and stops listening when it is over."""
    context, page = open_page(browser, server, init_script=COUNT_ABORT_LISTENERS)
    refused = {"colorize": 8, "image": 2}

    def busy(kind):
        def handle(route):
            if refused[kind] > 0:
                refused[kind] -= 1
                route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/json",
                              body='{"detail": "The server is busy (2 job(s) running, 4 waiting). Try again in 1 s."}')
            else:
                route.continue_()
        return handle

    page.route("**/api/colorize", busy("colorize"))
    page.route("**/api/upload/*/image?*", busy("image"))
    page.set_input_files("#photo-input", str(photos["camera"]))
    poll(page, lambda: "busy" in page.text_content("#status"), "the page to say it waits")
    assert "trying again" in page.text_content("#status")
    wait_render(page, 0)
    assert refused == {"colorize": 0, "image": 0}
    poll(page, lambda: page.evaluate("() => document.getElementById('before').naturalWidth") == 512, "the photo")
    assert page.is_hidden("#error")
    assert page.evaluate("window.abortListeners()") == 0  # not one left behind per retry
    context.close()


def test_the_latest_chosen_photo_and_reference_win(server, browser, photos):
    context, page = open_page(browser, server)
    held, done = [], []
    page.on("requestfinished", lambda r: done.append(r))
    page.on("requestfailed", lambda r: done.append(r))

    def hold_first(route):
        if not held:
            held.append(route)  # answered later, after the second choice
        else:
            route.continue_()

    def release() -> None:
        with contextlib.suppress(playwright_api.Error):  # the page may have aborted it
            held[0].continue_()
        poll(page, lambda: held[0].request in done, "the first upload to end")
        page.wait_for_timeout(500)  # time for its reply to be (wrongly) used
        held.clear()

    page.route("**/api/upload", hold_first)
    page.set_input_files("#photo-input", str(photos["camera"]))  # slow ...
    poll(page, lambda: bool(held), "the first upload")
    page.set_input_files("#photo-input", str(photos["coffee"]))  # ... overtaken
    wait_render(page, 0)
    release()
    assert page.text_content("#size-text") == "600 × 400 pixels"  # coffee, not the camera
    n = renders(page)
    page.set_input_files("#ref-input", str(photos["camera"]))
    poll(page, lambda: bool(held), "the first reference upload")
    page.set_input_files("#ref-input", str(photos["astronaut"]))
    wait_render(page, n)
    release()
    assert page.text_content("#ref-name") == "astronaut.png"
    assert page.is_hidden("#error")
    context.close()


def test_a_file_dropped_anywhere_on_the_reference_card_is_the_reference(server, browser, photos):
    context, page = open_page(browser, server)
    open_photo(page, photos["camera"])
    add_hint_with_keyboard(page)
    n = renders(page)
    data = list(photos["coffee"].read_bytes())
    page.locator("#ref-title").evaluate(  # a real drop event on the card's heading
        """(node, bytes) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], "coffee.jpg", { type: "image/jpeg" }));
            for (const type of ["dragenter", "dragover", "drop"]) {
                node.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
            }
        }""", data)
    wait_render(page, n)
    assert page.text_content("#ref-name") == "coffee.jpg"
    assert page.text_content("#size-text") == "512 × 512 pixels"  # the photo stays ...
    assert page.text_content("#hint-count") == "1"  # ... and so do its hints
    context.close()


def test_the_download_link_is_inert_until_there_is_a_result(server, browser, photos):
    context, page = open_page(browser, server)
    held = []
    page.route("**/api/colorize", lambda route: route.continue_() if held else held.append(route))  # no result yet
    page.set_input_files("#photo-input", str(photos["camera"]))
    poll(page, lambda: bool(held), "the colorization request")
    link = page.locator("#download")
    assert link.get_attribute("href") is None and link.get_attribute("download") is None
    assert link.get_attribute("aria-disabled") == "true" and link.get_attribute("tabindex") == "-1"
    page.locator("#format").focus()
    page.keyboard.press("Tab")  # skips the disabled link
    assert page.evaluate("document.activeElement.id") == "new-photo"
    held[0].continue_()
    wait_render(page, 0)
    assert link.get_attribute("href").endswith(".png?download=1") and link.get_attribute("tabindex") is None
    context.close()


def test_leaving_with_hints_asks_first(server, browser, photos):
    context, page = open_page(browser, server)
    open_photo(page, photos["camera"])
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    with page.expect_event("close", timeout=5000):
        page.close(run_before_unload=True)  # no hints: nothing to lose, no question
    assert dialogs == []
    page = context.new_page()
    page.goto(server + "/")
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    open_photo(page, photos["camera"])
    add_hint_with_keyboard(page)
    page.close(run_before_unload=True)
    poll(page, lambda: dialogs == ["beforeunload"], "the beforeunload question", 5000)
    assert not page.is_closed()  # dismissed: the hints stay
    assert page.text_content("#hint-count") == "1"
    context.close()


def test_picking_a_suggestion_with_enter_keeps_the_focus_on_it(server, browser, photos):
    context, page = open_page(browser, server)
    open_photo(page, photos["camera"])
    hex_ = add_hint_with_keyboard(page)
    assert page.text_content("#hint-count") == "1"
    assert page.evaluate("document.activeElement.className") == "swatch"
    assert page.evaluate("document.activeElement.dataset.hex") == hex_
    context.close()


def test_restyling_a_colour_photo_recolours_its_own_colours(server, browser, photos):
    context, page = open_page(browser, server)
    open_photo(page, photos["coffee"])
    assert "Colorized (automatic)" in page.text_content("#status")
    n = renders(page)
    page.set_input_files("#ref-input", str(photos["astronaut"]))
    wait_render(page, n)
    assert "palette of astronaut.png" in page.text_content("#status")
    n = renders(page)
    with page.expect_request(lambda r: r.url.endswith("/api/transfer")):
        page.check("input[name=ref-mode][value=transfer]")
    wait_render(page, n)
    assert "Restyled the photo's own colours after astronaut.png (mkl, 100%)" in page.text_content("#status")
    page.screenshot(path=str(ARTIFACTS / "serve-desktop-8-restyle-colour-photo.png"))
    original = np.asarray(Image.open(photos["coffee"]).convert("RGB")).astype(int)

    def shown() -> np.ndarray:
        rid = page.get_attribute("#frame", "data-result-id")
        with urllib.request.urlopen(f"{server}/api/result/{rid}.png") as r:
            return np.asarray(Image.open(io.BytesIO(r.read())).convert("RGB")).astype(int)

    restyled = shown()
    assert np.abs(restyled - original).mean() > 5  # recoloured ...
    n = renders(page)
    page.fill("#strength", "0")
    wait_render(page, n)
    assert np.abs(shown() - original).max() <= 3  # ... from the photo's own colours: strength 0 is the photo
    context.close()


def test_artifacts_are_gitignored():
    root = Path(__file__).resolve().parents[1]
    ignore = (root / ".gitignore").read_text().split()
    assert "tests/artifacts/" in ignore
    if shutil.which("git") and (root / ".git").exists():
        r = subprocess.run(["git", "check-ignore", "-q", str(ARTIFACTS / "x.png")], cwd=root)
        assert r.returncode == 0


class HeldRequest:
    """Holds the first request matching ``pattern`` until :meth:`release`; later ones pass."""

    def __init__(self, page, pattern: str) -> None:
        self.page, self.route, self.done = page, None, []
        page.on("requestfinished", lambda r: self.done.append(r))  # (playwright takes no builtin methods)
        page.on("requestfailed", lambda r: self.done.append(r))
        page.route(pattern, self._handle)

    def _handle(self, route) -> None:
        if self.route is None:
            self.route = route
        else:
            route.continue_()

    def wait(self) -> None:
        poll(self.page, lambda: self.route is not None, "the request to hold")

    def release(self) -> None:
        with contextlib.suppress(playwright_api.Error):  # the page may have aborted it
            self.route.continue_()
        poll(self.page, lambda: self.route.request in self.done, "the held request to end")
        self.page.wait_for_timeout(500)  # time for its reply to be (wrongly) used


def blob_alive(page, url: str) -> bool:
    """Whether a blob: URL still loads (an <img> probe: the page's CSP keeps fetch() to the server)."""
    return page.evaluate("""(url) => new Promise((resolve) => {
        const img = new Image();
        img.onload = () => resolve(true);
        img.onerror = () => resolve(false);
        img.src = url;
    })""", url)


def shown_src(page, selector: str, other_than: str | None = None) -> str:
    """The blob: URL an <img> shows, once it has loaded one (other than ``other_than``)."""
    def ready() -> bool:
        src = page.get_attribute(selector, "src") or ""
        return src.startswith("blob:") and src != other_than and page.evaluate(
            "(s) => document.querySelector(s).complete", selector)

    poll(page, ready, f"an image in {selector}")
    return page.get_attribute(selector, "src")


def test_replaced_images_give_their_blob_urls_back(server, browser, photos):
    """Each image the page shows is a blob: URL; once replaced or removed, its memory is given back."""
    context, page = open_page(browser, server)
    open_photo(page, photos["camera"])
    before, after = shown_src(page, "#before"), shown_src(page, "#after")
    n = renders(page)
    page.set_input_files("#ref-input", str(photos["astronaut"]))
    wait_render(page, n)
    thumb = shown_src(page, "#ref-thumb")
    n = renders(page)
    page.set_input_files("#ref-input", str(photos["coffee"]))
    wait_render(page, n)
    new_thumb = shown_src(page, "#ref-thumb", other_than=thumb)
    assert not blob_alive(page, thumb) and blob_alive(page, new_thumb)
    open_photo(page, photos["babcia"])
    new_before, new_after = shown_src(page, "#before", other_than=before), shown_src(page, "#after", other_than=after)
    assert not blob_alive(page, before) and not blob_alive(page, after)
    assert blob_alive(page, new_before) and blob_alive(page, new_after)
    n = renders(page)
    page.click("#remove-ref")
    wait_render(page, n)
    assert not blob_alive(page, new_thumb)
    context.close()


def test_an_overlay_that_arrives_after_the_photo_changed_is_not_shown(server, browser, photos):
    context, page = open_page(browser, server)
    open_photo(page, photos["camera"])
    overlay = HeldRequest(page, "**/api/result/**")
    page.check("#show-overlay")
    overlay.wait()  # the camera's overlay is on its way ...
    open_photo(page, photos["coffee"])  # ... when another photo is opened
    overlay.release()
    assert page.get_attribute("#overlay", "src") is None and page.is_hidden("#overlay")
    assert not page.is_checked("#show-overlay") and page.is_hidden("#error")
    page.check("#show-overlay")  # the new photo's own overlay
    poll(page, lambda: page.is_visible("#overlay"), "the overlay")
    assert page.evaluate("document.getElementById('overlay').naturalWidth") == 600  # coffee's, not the camera's
    context.close()


def test_a_reference_removed_while_it_uploads_stays_removed(server, browser, photos):
    context, page = open_page(browser, server)
    open_photo(page, photos["camera"])
    n = renders(page)
    page.set_input_files("#ref-input", str(photos["astronaut"]))
    wait_render(page, n)
    upload = HeldRequest(page, "**/api/upload")
    page.set_input_files("#ref-input", str(photos["coffee"]))
    upload.wait()  # another reference on its way ...
    n = renders(page)
    page.click("#remove-ref")  # ... when the user removes the reference
    wait_render(page, n)
    upload.release()
    assert page.is_hidden("#ref-box") and page.is_visible("#ref-empty")
    assert page.is_enabled("#pick-ref") and page.text_content("#pick-ref") == "Choose a reference…"
    assert renders(page) == n + 1 and "with the palette" not in page.text_content("#status")
    assert page.is_hidden("#error")
    context.close()
