"""tinct serve, the JSON API: every endpoint and every rejection, in-process with the real model.

FastAPI's TestClient (httpx) drives the app; the photos are small real ones from
scikit-image; nothing is mocked.
"""

from __future__ import annotations

import inspect
import io
import json
import math
import struct
import threading
import time
import warnings
import zlib

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="tinct serve needs the 'serve' extra (fastapi, uvicorn, python-multipart)")
pytest.importorskip("httpx", reason="the API tests need httpx")

from PIL import Image  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's "install httpx2" deprecation notice
    from fastapi.testclient import TestClient  # noqa: E402

from tinct.serve.app import JobLimiter, create_app, run  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:.*httpx2"), pytest.mark.usefixtures("one_thread")]

SKY = (125, 30)  # a point of sky in the 256 x 256 camera photo


# ----------------------------------------------------------------------------- helpers


def encode(image: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, fmt, **kw)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (8-bit grey) with a tiny, truncated IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def chroma(rgb: np.ndarray) -> float:
    rgb = rgb[..., :3].astype(np.float32)
    return float((rgb.max(axis=-1) - rgb.min(axis=-1)).mean())


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    import skimage.data

    return {
        "camera": np.ascontiguousarray(skimage.data.camera()[::2, ::2]),  # 256 x 256 grey
        "coffee": np.ascontiguousarray(skimage.data.coffee()[::2, ::2]),  # 200 x 300 colour
        "astronaut": np.ascontiguousarray(skimage.data.astronaut()[::4, ::4]),  # 128 x 128 colour
    }


@pytest.fixture(scope="module")
def files(images) -> dict[str, bytes]:
    return {"camera": encode(images["camera"]), "coffee": encode(images["coffee"], "JPEG", quality=92),
            "astronaut": encode(images["astronaut"])}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One app for the read-mostly tests (sessions and results are shared between them)."""
    app = create_app(temp_dir=tmp_path_factory.mktemp("serve"))
    with TestClient(app) as client:
        yield app, client


@pytest.fixture(scope="module")
def client(served) -> TestClient:
    return served[1]


@pytest.fixture(scope="module")
def ids(client, files) -> dict[str, str]:
    out = {}
    for name, data in files.items():
        r = client.post("/api/upload", files={"photo": (f"{name}.png", data, "image/png")})
        assert r.status_code == 200, r.text
        out[name] = r.json()["id"]
    return out


# ----------------------------------------------------------------------------- page and docs


def test_page_static_files_and_docs_are_served_offline(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text and "/static/style.css" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, no external fonts
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for path, kind in [("/static/app.js", "javascript"), ("/static/style.css", "css")]:
        r = client.get(path)
        assert r.status_code == 200 and kind in r.headers["content-type"]
        assert "https://" not in r.text and "@import" not in r.text
    docs = client.get("/docs")
    assert docs.status_code == 200
    for path in ("/api/upload", "/api/colorize", "/api/transfer", "/api/suggest", "/api/explain", "/api/result/"):
        assert path in docs.text
    assert "cdn" not in docs.text.lower()
    schema = client.get("/openapi.json").json()
    assert {"/api/colorize", "/api/upload", "/api/suggest", "/api/explain", "/api/transfer"} <= set(schema["paths"])


def test_info_lists_methods_and_limits(client):
    info = client.get("/api/info").json()
    assert "mkl" in info["methods"] and "hm-mkl-hm" in info["methods"]
    assert info["limits"]["max_upload_mb"] == 25 and info["limits"]["max_jobs"] == 2 and info["limits"]["queue"] == 4
    from tinct.colorizer import DEFAULT_TEMPERATURE

    assert info["defaults"]["temperature"] == pytest.approx(DEFAULT_TEMPERATURE)


# ----------------------------------------------------------------------------- upload


def test_upload_gives_id_and_size_once_per_photo(client, files, ids):
    r = client.post("/api/upload", files={"photo": ("again.png", files["camera"], "image/png")})
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == ids["camera"]  # same bytes, same id: no second copy
    assert (body["width"], body["height"]) == (256, 256)
    assert body["colour"] is False
    info = client.get(f"/api/upload/{ids['coffee']}").json()
    assert (info["width"], info["height"], info["colour"]) == (300, 200, True)
    small = client.get(f"/api/upload/{ids['coffee']}/image", params={"max": 60})
    assert small.status_code == 200 and small.headers["content-type"] == "image/png"
    assert decode(small.content).shape[:2] == (40, 60)


def test_unknown_upload_id_is_404(client):
    r = client.post("/api/colorize", data={"id": "0" * 24})
    assert r.status_code == 404 and "Upload the photo again" in r.json()["detail"]
    assert client.get("/api/upload/nope").status_code == 404


# ----------------------------------------------------------------------------- colorize


def test_colorize_by_id_returns_full_resolution_png_with_an_id(client, ids, images):
    r = client.post("/api/colorize", data={"id": ids["camera"]})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    rid = r.headers["x-tinct-id"]
    assert len(rid) == 24 and r.headers["location"] == f"/api/result/{rid}.png"
    out = decode(r.content)
    assert out.shape == (256, 256, 3)
    assert chroma(out) > 2  # it has colour
    # the lightness is the photo's own
    gray = out.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722])
    assert np.corrcoef(gray.ravel(), images["camera"].ravel())[0, 1] > 0.98

    again = client.post("/api/colorize", data={"id": ids["camera"], "response": "json"}).json()
    assert again["id"] == rid and again["cached"] is True
    assert (again["width"], again["height"]) == (256, 256)
    assert again["png"] == f"/api/result/{rid}.png" and again["jpeg"] == f"/api/result/{rid}.jpg"


def test_colorize_jpeg_preview_and_direct_photo(client, ids, files):
    r = client.post("/api/colorize", data={"id": ids["camera"], "format": "jpeg", "preview": 100})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert decode(r.content).shape == (100, 100, 3)  # the preview is small ...
    full = client.get(f"/api/result/{r.headers['x-tinct-id']}.jpg")
    assert decode(full.content).shape == (256, 256, 3)  # ... the stored result is not
    direct = client.post("/api/colorize", files={"photo": ("camera.png", files["camera"], "image/png")})
    assert direct.status_code == 200 and direct.headers["x-tinct-id"] == r.headers["x-tinct-id"]


def test_levels_for_a_faded_photo_is_its_own_result(served, ids):
    app, client = served
    plain = client.post("/api/colorize", data={"id": ids["camera"], "response": "json"}).json()
    faded = client.post("/api/colorize", data={"id": ids["camera"], "levels": "true", "response": "json"}).json()
    assert faded["id"] != plain["id"]  # a separate result and a separate network run
    assert app.state.tinct.sessions[(ids["camera"], None, True)].session.levels is True
    a = decode(client.get(plain["png"]).content).astype(int)
    b = decode(client.get(faded["png"]).content).astype(int)
    assert np.abs(a - b).mean() > 0.5  # the network saw other tones
    assert client.post("/api/colorize", data={"id": ids["camera"], "levels": "maybe"}).status_code == 422


def test_a_hint_changes_the_colour_there_without_rerunning_the_network(served, ids):
    app, client = served
    x, y = SKY
    auto = decode(client.post("/api/colorize", data={"id": ids["camera"]}).content)
    entry = app.state.tinct.sessions[(ids["camera"], None, False)]
    session = entry.session
    hints = json.dumps([{"x": x, "y": y, "color": "#10d040", "radius": 3}])
    start = time.perf_counter()
    r = client.post("/api/colorize", data={"id": ids["camera"], "hints": hints})
    seconds = time.perf_counter() - start
    assert r.status_code == 200, r.text
    guided = decode(r.content)
    before, after = auto[y, x].astype(int), guided[y, x].astype(int)
    assert after[1] > after[0] + 15 and after[1] > after[2] + 15, (before, after)  # green now
    assert np.abs(after - before).max() > 30
    assert app.state.tinct.sessions[(ids["camera"], None, False)].session is session  # same network output
    assert seconds < 30
    # the same hints again come from the cache
    again = client.post("/api/colorize", data={"id": ids["camera"], "hints": hints})
    assert again.headers["x-tinct-cached"] == "1" and again.headers["x-tinct-id"] == r.headers["x-tinct-id"]
    # {"hints": [...]} and [r, g, b] colours are accepted too
    other = client.post("/api/colorize", data={"id": ids["camera"], "response": "json",
                                               "hints": json.dumps({"hints": [{"x": x, "y": y, "rgb": [16, 208, 64],
                                                                               "radius": 3}]})})
    assert other.json()["id"] == r.headers["x-tinct-id"]


def test_temperature_and_saturation_change_the_result(client, ids):
    base = decode(client.post("/api/colorize", data={"id": ids["camera"]}).content)
    gray = decode(client.post("/api/colorize", data={"id": ids["camera"], "saturation": 0}).content)
    vivid = decode(client.post("/api/colorize", data={"id": ids["camera"], "saturation": 2}).content)
    assert chroma(gray) < 1.0 < chroma(base) < chroma(vivid)


def test_colorize_with_a_reference_palette_or_transfer(client, ids):
    plain = client.post("/api/colorize", data={"id": ids["camera"], "response": "json"}).json()
    pal = client.post("/api/colorize", data={"id": ids["camera"], "reference_id": ids["coffee"]})
    assert pal.status_code == 200, pal.text
    assert pal.headers["x-tinct-id"] != plain["id"]
    assert decode(pal.content).shape == (256, 256, 3)
    t1 = client.post("/api/colorize", data={"id": ids["camera"], "reference_id": ids["coffee"],
                                            "reference_mode": "transfer", "method": "hm-mkl-hm", "strength": 1})
    t0 = client.post("/api/colorize", data={"id": ids["camera"], "reference_id": ids["coffee"],
                                            "reference_mode": "transfer", "method": "hm-mkl-hm", "strength": 0})
    assert t1.status_code == t0.status_code == 200
    assert np.array_equal(decode(t0.content), decode(client.post("/api/colorize", data={"id": ids["camera"]}).content))
    assert not np.array_equal(decode(t1.content), decode(t0.content))
    bad = client.post("/api/colorize", data={"id": ids["camera"], "reference_id": ids["coffee"],
                                             "reference_mode": "transfer", "method": "rainbow"})
    assert bad.status_code == 422 and "mkl" in bad.json()["detail"]


def test_bad_hints_and_parameters_are_422_with_a_message(client, ids):
    cases = [
        ({"hints": "[{"}, "not valid JSON"),
        ({"hints": json.dumps([{"x": 999, "y": 3, "color": "#ff0000"}])}, "outside the 256x256 photo"),
        ({"hints": json.dumps([{"x": 3, "y": 3, "color": "red"}])}, "#RRGGBB"),
        ({"hints": json.dumps([{"y": 3, "color": "#ff0000"}])}, "missing 'x'"),
        ({"hints": json.dumps({"x": 1})}, "expected a list"),
        ({"temperature": 0}, "temperature"),
        ({"temperature": 2.5}, "temperature"),
        ({"saturation": -1}, "saturation"),
        ({"temperature": "nan"}, "temperature: Input should be a finite number"),  # it said "<= 2"
        ({"saturation": "inf"}, "saturation: Input should be a finite number"),
        ({"format": "gif"}, "format"),
    ]
    for extra, words in cases:
        r = client.post("/api/colorize", data={"id": ids["camera"], **extra})
        assert r.status_code == 422, (extra, r.text)
        assert words in r.json()["detail"], (extra, r.json())
    r = client.post("/api/colorize", data={})
    assert r.status_code == 422 and "photo" in r.json()["detail"]
    r = client.post("/api/colorize", json={"id": ids["camera"]})  # a JSON body: the answer says what is wanted
    assert r.status_code == 422 and "multipart/form-data fields (not a JSON body)" in r.json()["detail"]


# ----------------------------------------------------------------------------- results


def test_result_download_png_and_jpeg(client, ids):
    rid = client.post("/api/colorize", data={"id": ids["camera"], "response": "json"}).json()["id"]
    png = client.get(f"/api/result/{rid}.png", params={"download": 1})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.headers["content-disposition"] == 'attachment; filename="camera-colorized.png"'
    assert decode(png.content).shape == (256, 256, 3)
    jpg = client.get(f"/api/result/{rid}.jpg")
    assert jpg.headers["content-type"] == "image/jpeg" and jpg.headers["content-disposition"].startswith("inline")
    assert jpg.content[:2] == b"\xff\xd8"
    small = client.get(f"/api/result/{rid}.png", params={"max": 32})
    assert decode(small.content).shape == (32, 32, 3)
    assert client.get(f"/api/result/{'f' * 24}.png").status_code == 404
    assert client.get(f"/api/result/{rid}.gif").status_code == 404


def test_file_names_in_any_script_colorize_and_download(client, images):
    """RFC 6266: an ASCII filename for old clients, the real name in filename* (UTF-8, percent-encoded)."""
    from urllib.parse import unquote

    names = {"Babcia Łucja 1938.png": ("Babcia Łucja 1938-colorized.png", "Babcia _ucja 1938-colorized.png"),
             "祖母 1952.png": ("祖母 1952-colorized.png", "__ 1952-colorized.png"),
             "Zo\u0308e.png": ("Zöe-colorized.png", "Zoe-colorized.png"),  # macOS sends decomposed (NFD) names
             "🎞 wedding.png": ("_ wedding-colorized.png", "_ wedding-colorized.png")}
    for i, (name, (unicode_name, ascii_name)) in enumerate(names.items()):
        img = images["astronaut"].copy()
        img[0, 0] = i  # a file of its own (the same bytes would keep the first name)
        uid = client.post("/api/upload", files={"photo": (name, encode(img), "image/png")}).json()["id"]
        r = client.post("/api/colorize", data={"id": uid})
        assert r.status_code == 200, (name, r.text)
        got = client.get(f"/api/result/{r.headers['x-tinct-id']}.png", params={"download": 1})
        assert got.status_code == 200, (name, got.text)
        disposition = got.headers["content-disposition"]
        assert disposition.startswith(f'attachment; filename="{ascii_name}"'), disposition
        if unicode_name != ascii_name:
            assert unquote(disposition.split("filename*=UTF-8''")[1]) == unicode_name, disposition
        else:
            assert "filename*" not in disposition


def test_results_on_disk_or_in_memory_are_served_while_the_server_is_busy(tmp_path, files):
    app = create_app(max_jobs=1, queue=0, temp_dir=tmp_path)
    state = app.state.tinct
    with TestClient(app) as client:
        uid = client.post("/api/upload", files={"photo": ("c.png", files["camera"], "image/png")}).json()["id"]
        rid = client.post("/api/colorize", data={"id": uid, "response": "json"}).json()["id"]
        png = client.get(f"/api/result/{rid}.png").content  # now on disk
        small = decode(client.get(f"/api/result/{rid}.png", params={"max": 64}).content)  # from memory
        for s in (0.5, 1.5, 2.0, 3.0):  # four newer results push it out of memory
            client.post("/api/colorize", data={"id": uid, "saturation": s, "response": "json"})
        assert rid not in state.arrays
        last = client.post("/api/colorize", data={"id": uid, "saturation": 3.0, "response": "json"}).json()["id"]
        assert state.jobs.semaphore.acquire(blocking=False)  # a long job holds the only slot
        try:
            start = time.perf_counter()
            r = client.get(f"/api/result/{rid}.png", params={"download": 1})
            assert r.status_code == 200 and r.content == png  # from disk, not recomputed
            assert time.perf_counter() - start < 1
            assert rid not in state.arrays
            r = client.get(f"/api/result/{rid}.png", params={"max": 64})  # a preview: made from the file on disk
            assert r.status_code == 200, r.text
            assert np.abs(decode(r.content).astype(int) - small).max() <= 1  # the same picture as from memory
            r = client.get(f"/api/result/{rid}.jpg", params={"max": 64})  # any format, from the PNG
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            assert np.abs(decode(r.content).astype(int) - small).mean() < 4
            assert rid not in state.arrays  # not recomputed
            r = client.get(f"/api/result/{last}.png", params={"max": 64})  # in memory: only an encode
            assert r.status_code == 200 and decode(r.content).shape == (64, 64, 3)
            assert client.get(f"/api/result/{last}.jpg").status_code == 200
            assert client.get(f"/api/upload/{uid}/image", params={"max": 64}).status_code == 200  # decoded already
            r = client.get(f"/api/result/{rid}.jpg")  # neither on disk nor in memory: that is a job
            assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        finally:
            state.jobs.semaphore.release()
        assert client.get(f"/api/result/{rid}.jpg").status_code == 200


def test_retry_after_adds_up_the_work_queued_not_an_average_of_tiny_jobs():
    """After a 1-s network run and 30 quick suggestions, six network runs on 2 slots (2 running,
    4 waiting) are about 3 s of work: Retry-After says so, not the ~0.04 s of an average over all jobs.

    The bounds come from the duration the limiter recorded, not from the clock, so a slow machine
    moves both together: the waiting runs count a whole estimate each, the running ones between
    half a second and a whole estimate (however long they have run)."""
    import asyncio

    from fastapi import HTTPException

    async def scenario() -> tuple[int, float, float]:
        jobs = JobLimiter(max_jobs=2, queue=4)
        await jobs.run(time.sleep, 1.0, label="colorize")  # one network run ...
        for _ in range(30):
            await jobs.run(time.sleep, 0.005, label="suggest")  # ... and many quick suggestions
        release = threading.Event()
        queued = [asyncio.create_task(jobs.run(release.wait, 60, label="colorize")) for _ in range(6)]
        while jobs.running < 2 or jobs.waiting < 4:
            await asyncio.sleep(0.01)
        colorize, suggest = jobs.estimate("colorize"), jobs.estimate("suggest")
        with pytest.raises(HTTPException) as refused:
            await jobs.run(time.sleep, 0.005, label="suggest")
        release.set()
        await asyncio.gather(*queued)
        return int(refused.value.headers["Retry-After"]), colorize, suggest

    retry_after, colorize, suggest = asyncio.run(scenario())
    assert colorize >= 1.0 and suggest < 0.5  # each kind has its own estimate
    low, high = math.ceil((2 * 0.5 + 4 * colorize) / 2), math.ceil(6 * colorize / 2)
    assert 3 <= low <= retry_after <= high, (retry_after, colorize)


def test_only_jobs_that_did_work_and_succeeded_are_timed(tmp_path, files):
    """Cache hits (a result or an upload seen before) and failed jobs take next to no time: timing
    them would pull the estimates, and Retry-After, towards zero."""
    import asyncio

    app = create_app(temp_dir=tmp_path)
    jobs: JobLimiter = app.state.tinct.jobs
    with TestClient(app) as client:
        uid = client.post("/api/upload", files={"photo": ("c.png", files["camera"], "image/png")}).json()["id"]
        assert client.post("/api/colorize", data={"id": uid, "response": "json"}).json()["cached"] is False
        timed = dict(jobs.seconds)
        assert timed["colorize"] > 0.05 and timed["decode"] > 0
        for _ in range(5):
            assert client.post("/api/colorize", data={"id": uid, "response": "json"}).json()["cached"] is True
            again = client.post("/api/upload", files={"photo": ("c.png", files["camera"], "image/png")})
            assert again.json()["id"] == uid
        assert jobs.seconds == timed

    def broken() -> None:
        raise RuntimeError("this job failed at once")

    async def a_failure() -> None:
        await jobs.run(time.sleep, 0.2, label="transfer")
        with pytest.raises(RuntimeError):
            await jobs.run(broken, label="transfer")

    asyncio.run(a_failure())
    assert jobs.seconds["transfer"] >= 0.2
    assert jobs.running == 0 and jobs.semaphore.acquire(blocking=False)  # the failed job gave its slot back
    jobs.semaphore.release()


# ----------------------------------------------------------------------------- transfer


def test_transfer_recolours_the_source(client, ids, files, images):
    r = client.post("/api/transfer", data={"source_id": ids["astronaut"], "reference_id": ids["coffee"],
                                           "method": "reinhard", "strength": 1})
    assert r.status_code == 200, r.text
    out = decode(r.content)
    assert out.shape == images["astronaut"].shape
    assert not np.array_equal(out, images["astronaut"])
    none = client.post("/api/transfer", data={"source_id": ids["astronaut"], "reference_id": ids["coffee"],
                                              "strength": 0})
    assert np.array_equal(decode(none.content), images["astronaut"])
    # files instead of ids, JSON response, options
    j = client.post("/api/transfer", data={"method": "hm", "preserve_luminance": "true", "response": "json"},
                    files={"source": ("a.png", files["astronaut"], "image/png"),
                           "reference": ("c.jpg", files["coffee"], "image/jpeg")})
    assert j.status_code == 200 and j.json()["width"] == 128
    assert client.get(j.json()["png"]).status_code == 200
    assert client.post("/api/transfer", data={"source_id": ids["astronaut"]}).status_code == 422
    bad = client.post("/api/transfer", data={"source_id": ids["astronaut"], "reference_id": ids["coffee"],
                                             "method": "nope"})
    assert bad.status_code == 422 and "unknown method" in bad.json()["detail"]


# ----------------------------------------------------------------------------- suggest and explain


def test_suggest_and_explain_follow_levels(client, ids):
    plain = client.post("/api/explain", data={"id": ids["camera"], "response": "json"}).json()
    faded = client.post("/api/explain", data={"id": ids["camera"], "levels": "true", "response": "json"}).json()
    assert faded["id"] != plain["id"] and faded["mean_bits"] != pytest.approx(plain["mean_bits"], abs=1e-6)
    for levels in ("false", "true"):
        r = client.post("/api/suggest", data={"id": ids["camera"], "x": 100, "y": 40, "k": 3, "levels": levels})
        assert r.status_code == 200 and len(r.json()["suggestions"]) == 3


def test_suggest_gives_distinct_colours_with_probabilities(client, ids, files):
    x, y = SKY
    r = client.post("/api/suggest", data={"id": ids["camera"], "x": x, "y": y, "k": 4})
    assert r.status_code == 200, r.text
    found = r.json()["suggestions"]
    assert len(found) == 4
    hexes = [s["hex"] for s in found]
    assert len(set(hexes)) == 4 and all(h.startswith("#") and len(h) == 7 for h in hexes)
    probs = [s["probability"] for s in found]
    assert all(0 < p <= 1 for p in probs) and sum(probs) <= 1 + 1e-6 and probs == sorted(probs, reverse=True)
    assert all(len(s["rgb"]) == 3 for s in found)
    direct = client.post("/api/suggest", data={"x": x, "y": y, "k": 4},
                         files={"photo": ("camera.png", files["camera"], "image/png")})
    assert direct.json()["suggestions"] == found
    out = client.post("/api/suggest", data={"id": ids["camera"], "x": 256, "y": 3})
    assert out.status_code == 422 and "outside" in out.json()["detail"]
    assert client.post("/api/suggest", data={"id": ids["camera"], "x": 3, "y": 3, "k": 0}).status_code == 422


def test_suggestions_follow_the_reference_palette(client, ids):
    green = np.zeros((64, 64, 3), np.uint8)
    green[..., 1] = np.linspace(60, 220, 64, dtype=np.uint8)[:, None]
    green[..., 0] = green[..., 1] // 4
    ref = client.post("/api/upload", files={"photo": ("green.png", encode(green), "image/png")}).json()["id"]
    x, y = SKY
    plain = client.post("/api/suggest", data={"id": ids["camera"], "x": x, "y": y}).json()["suggestions"]
    steered = client.post("/api/suggest", data={"id": ids["camera"], "x": x, "y": y, "reference_id": ref})
    assert steered.status_code == 200, steered.text
    def green_mass(found: list) -> float:
        return sum(s["probability"] for s in found if s["ab"][0] < -10)

    assert green_mass(steered.json()["suggestions"]) > green_mass(plain) + 0.3
    missing = client.post("/api/suggest", data={"id": ids["camera"], "x": x, "y": y, "reference_id": "nope"})
    assert missing.status_code == 404


def test_explain_overlay_png_and_summary(client, ids):
    r = client.post("/api/explain", data={"id": ids["camera"]})
    assert r.status_code == 200, r.text
    overlay = decode(r.content)
    assert overlay.shape == (256, 256, 3) and chroma(overlay) > 5
    assert 0 < float(r.headers["x-tinct-mean-bits"]) <= float(r.headers["x-tinct-max-bits"])
    j = client.post("/api/explain", data={"id": ids["camera"], "response": "json"}).json()
    assert j["id"] == r.headers["x-tinct-id"]
    assert 0 < j["mean_bits"] <= j["max_bits"] and 0 < j["mean_normalised"] <= 1
    assert j["uncertain_regions"] and j["uncertain_regions"][0]["candidates"]
    got = client.get(f"/api/result/{j['id']}.png", params={"download": 1})
    assert got.status_code == 200 and "camera-uncertainty.png" in got.headers["content-disposition"]


# ----------------------------------------------------------------------------- rejections


def test_too_large_uploads_are_413(tmp_path):
    app = create_app(max_upload_mb=0.05, temp_dir=tmp_path)  # 50 kB per file
    noise = np.random.default_rng(0).integers(0, 256, (160, 160, 3), dtype=np.uint8)
    big = encode(noise)  # noise does not compress: ~77 kB
    assert 50_000 < len(big) < 1_000_000
    with TestClient(app) as client:
        r = client.post("/api/upload", files={"photo": ("big.png", big, "image/png")})
        assert r.status_code == 413 and "0.05 MB" in r.json()["detail"] and "big.png" in r.json()["detail"]
        # a body over the request cap is refused from its Content-Length, before reading it
        huge = b"\0" * 1_200_000
        r = client.post("/api/upload", files={"photo": ("huge.png", huge, "image/png")})
        assert r.status_code == 413 and "too large" in r.json()["detail"]
        # ... and a chunked body (no Content-Length) while reading it
        boundary = "tinctboundary"

        def chunks():
            yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"c.png\"\r\n"
                   "Content-Type: image/png\r\n\r\n").encode()
            for _ in range(30):
                yield b"\0" * 50_000
            yield f"\r\n--{boundary}--\r\n".encode()

        r = client.post("/api/upload", content=chunks(),
                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert r.status_code == 413
        small = encode(noise[:40, :40])
        assert client.post("/api/upload", files={"photo": ("ok.png", small, "image/png")}).status_code == 200


def test_non_images_are_415_with_the_reason(client):
    for name, data, words in [
        ("notes.txt", b"Dear diary, today I scanned a photo.\n" * 10, "not an image"),
        ("scan.pdf", b"%PDF-1.7\n" + b"x" * 200, "PDF"),
        ("page.html", b"<!doctype html><html><body>hi</body></html>", "HTML"),
        ("empty.jpg", b"", "empty"),
    ]:
        r = client.post("/api/upload", files={"photo": (name, data, "application/octet-stream")})
        assert r.status_code == 415, (name, r.text)
        detail = r.json()["detail"]
        assert detail.startswith(f"{name}: ") and words in detail, detail


def test_bombs_and_corrupt_images_are_400(client, tmp_path, files):
    bomb = png_header_only(10_000, 10_000)
    assert len(bomb) < 200
    r = client.post("/api/upload", files={"photo": ("bomb.png", bomb, "image/png")})
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("bomb.png: 100.0 megapixels exceeds the limit")
    truncated = files["camera"][: len(files["camera"]) // 2]
    r = client.post("/api/upload", files={"photo": ("cut.png", truncated, "image/png")})
    assert r.status_code == 400 and "truncated or corrupt" in r.json()["detail"]
    # the pixel limit is the app's own
    app = create_app(max_pixels=50_000, temp_dir=tmp_path)
    with TestClient(app) as small:
        r = small.post("/api/upload", files={"photo": ("camera.png", files["camera"], "image/png")})
        assert r.status_code == 400 and "0.0655 megapixels exceeds the limit of 0.05 megapixels" in r.json()["detail"]
    assert list(tmp_path.iterdir()) == []


def test_full_queue_is_503_with_retry_after(tmp_path, files):
    app = create_app(max_jobs=1, queue=0, temp_dir=tmp_path)
    jobs: JobLimiter = app.state.tinct.jobs
    with TestClient(app) as client:
        uid = client.post("/api/upload", files={"photo": ("c.png", files["camera"], "image/png")}).json()["id"]
        assert jobs.semaphore.acquire(blocking=False)  # a job "runs"
        try:
            r = client.post("/api/colorize", data={"id": uid})
            assert r.status_code == 503
            assert int(r.headers["retry-after"]) >= 1
            assert "busy" in r.json()["detail"]
            assert client.post("/api/upload", files={"photo": ("c.png", files["camera"], "image/png")}
                               ).status_code == 503
        finally:
            jobs.semaphore.release()
        assert client.post("/api/colorize", data={"id": uid}).status_code == 200


def test_queued_requests_wait_and_the_event_loop_stays_free(tmp_path, files):
    app = create_app(max_jobs=1, queue=1, temp_dir=tmp_path)
    jobs: JobLimiter = app.state.tinct.jobs
    with TestClient(app) as client:
        uid = client.post("/api/upload", files={"photo": ("c.png", files["camera"], "image/png")}).json()["id"]
        jobs.semaphore.acquire()
        result = {}
        waiter = threading.Thread(target=lambda: result.setdefault(
            "r", client.post("/api/colorize", data={"id": uid, "response": "json"})))
        try:
            waiter.start()
            deadline = time.monotonic() + 20
            while jobs.waiting < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert jobs.waiting == 1
            info = client.get("/api/info").json()  # answered while a request waits
            assert info["busy"] == {"running": 0, "waiting": 1}
            r = client.post("/api/suggest", data={"id": uid, "x": 1, "y": 1})
            assert r.status_code == 503 and "Retry-After" in r.headers
        finally:
            jobs.semaphore.release()
        waiter.join(60)
        assert result["r"].status_code == 200
        assert jobs.waiting == 0 and jobs.running == 0


def test_everything_lives_in_the_temp_dir_and_is_removed_at_shutdown(tmp_path, files):
    base = tmp_path / "serve-tmp"
    app = create_app(temp_dir=base)
    root = app.state.tinct.root
    assert root.parent == base
    with TestClient(app) as client:
        uid = client.post("/api/upload", files={"photo": ("c.png", files["camera"], "image/png")}).json()["id"]
        rid = client.post("/api/colorize", data={"id": uid, "response": "json"}).json()["id"]
        assert client.get(f"/api/result/{rid}.png").status_code == 200
        assert client.get(f"/api/result/{rid}.jpg").status_code == 200
        written = {p.name for p in root.rglob("*") if p.is_file()}
        assert uid in written and f"{rid}.png" in written and f"{rid}.jpg" in written
    assert not root.exists()
    assert list(base.iterdir()) == []


def test_stale_uploads_are_evicted(tmp_path, files, images):
    app = create_app(temp_dir=tmp_path, upload_ttl=0.0)
    with TestClient(app) as client:
        uid = client.post("/api/upload", files={"photo": ("c.png", files["camera"], "image/png")}).json()["id"]
        time.sleep(0.01)
        r = client.get(f"/api/upload/{uid}")
        assert r.status_code == 404
        assert not any(app.state.tinct.root.joinpath("uploads").iterdir())
    app = create_app(temp_dir=tmp_path, max_uploads=2)
    with TestClient(app) as client:
        got = []
        for i in range(3):
            img = images["astronaut"].copy()
            img[0, 0] = i  # three different files
            got.append(client.post("/api/upload", files={"photo": (f"{i}.png", encode(img), "image/png")}).json()["id"])
        client.get("/api/info")
        assert client.get(f"/api/upload/{got[0]}").status_code == 404
        assert client.get(f"/api/upload/{got[2]}").status_code == 200


def test_defaults_bind_loopback_only():
    params = inspect.signature(run).parameters
    assert params["host"].default == "127.0.0.1" and params["port"].default == 8000
    defaults = inspect.signature(create_app).parameters
    assert defaults["max_upload_mb"].default == 25 and defaults["max_jobs"].default == 2
    assert defaults["queue"].default == 4 and defaults["temp_dir"].default is None
    with pytest.raises(ValueError, match="max_jobs"):
        JobLimiter(0, 1)


def test_16_bit_alpha_and_rotated_photos(client, images, tmp_path):
    from tinct.io import imread

    cam = images["camera"][:96, :128]
    # 16-bit grey PNG: the full-resolution PNG result stays 16-bit, the JPEG is 8-bit
    deep = Image.fromarray(cam.astype(np.uint16) * 257)  # I;16
    r = client.post("/api/colorize", data={"response": "json"},
                    files={"photo": ("deep.png", encode_pil(deep), "image/png")})
    assert r.status_code == 200, r.text
    png = client.get(r.json()["png"])
    (tmp_path / "deep.png").write_bytes(png.content)
    out = imread(tmp_path / "deep.png")
    assert out.dtype == np.uint16 and out.shape == (96, 128, 3)
    assert client.get(r.json()["jpeg"]).content[:2] == b"\xff\xd8"
    # alpha is kept in PNG results
    rgba = np.dstack([np.repeat(cam[..., None], 3, axis=2), np.full(cam.shape, 200, np.uint8)])
    r = client.post("/api/colorize", files={"photo": ("alpha.png", encode(rgba), "image/png")})
    assert decode(r.content).shape == (96, 128, 4) and (decode(r.content)[..., 3] == 200).all()
    # EXIF orientation 6 (rotate 90): the upload is reported and colorized upright
    im = Image.fromarray(cam)
    exif = im.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    info = client.post("/api/upload", files={"photo": ("turned.jpg", buf.getvalue(), "image/jpeg")}).json()
    assert (info["width"], info["height"]) == (96, 128)
    r = client.post("/api/colorize", data={"id": info["id"]})
    assert decode(r.content).shape == (128, 96, 3)


def encode_pil(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()
