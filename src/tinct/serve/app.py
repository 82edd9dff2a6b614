"""``tinct serve``: a local web page and JSON API for colorizing, guiding and restyling photos.

The page (``static/``) uploads a photo once (``POST /api/upload`` -> id) and then asks for
colorizations, colour suggestions and uncertainty overlays *by id*, so a new hint never
uploads or decodes the photo again. The network runs once per photo (and reference):
:class:`tinct.guide.GuidedSession` objects are kept in a small LRU keyed by the upload's
SHA-256, and every hint edit only re-solves the hint propagation. Results are cached by
everything that determines them (photo, reference, hints, parameters), get a
deterministic id, and can be downloaded at full resolution from ``/api/result/{id}.png``.

Limits (all set in :func:`create_app`):

- uploads larger than ``max_upload_mb`` -> 413 (checked from ``Content-Length`` before
  anything is read, and while reading when there is none);
- files that are not images -> 415, corrupt images and decompression bombs (more than
  ``max_pixels`` pixels, found from the header before decoding) -> 400, with the reason
  from :mod:`tinct.io`;
- at most ``max_jobs`` CPU-heavy jobs run at once (in a thread pool, never on the event
  loop), at most ``queue`` wait for a slot, further requests get 503 with ``Retry-After``;
- everything is written inside one temporary folder, which is removed at shutdown;
  uploads unused for ``upload_ttl`` seconds (or beyond ``max_uploads``) are evicted.

The server binds 127.0.0.1 unless told otherwise: it is meant for one person's machine.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import html
import io
import ipaddress
import json
import logging
import math
import os
import secrets
import shutil
import tempfile
import threading
import time
import unicodedata
import urllib.parse
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from starlette.concurrency import run_in_threadpool

from tinct.colorizer import DEFAULT_SIZE, DEFAULT_TEMPERATURE, MAX_TEMPERATURE
from tinct.io import DEFAULT_MAX_PIXELS, ImageError, imread, imwrite

__all__ = ["create_app", "run", "Job", "JobLimiter"]

log = logging.getLogger("tinct.serve")

STATIC = Path(__file__).resolve().parent / "static"
PREVIEW_MAX = 4096  # largest preview side the API renders
Fmt = Literal["png", "jpeg"]
Resp = Literal["image", "json"]
Levels = Annotated[bool, Form(description="a faded scan: the network sees its lightness stretched to a normal "
                                          "range (the result keeps the photo's own)")]
preview_doc = "Longest side of the returned image (0: full resolution); the stored result stays full size."


# --------------------------------------------------------------------------------------
# Bounded concurrency


@dataclass(eq=False)
class Job:
    """A job waiting for or holding a slot of a :class:`JobLimiter`."""

    label: str
    start: float | None = None  # when it got its slot
    timed: bool = True  # False: it did no real work (a cache hit), so its duration is not an estimate


class JobLimiter:
    """At most ``max_jobs`` jobs run, at most ``queue`` wait; beyond that, 503 + Retry-After.

    ``semaphore`` is a plain :class:`threading.BoundedSemaphore` (a test can hold it); the
    waiting requests poll it from the event loop, so a client that goes away while waiting
    gives its place back without ever having taken a slot.

    Each job has a label (``"colorize"``, ``"suggest"``, ...) with its own running estimate of
    its duration, so ``Retry-After`` adds up the work actually queued: a flood of quick
    suggestions does not make a queue of network runs look short. Only jobs that succeed and
    do their work are timed: a failure or a cache hit (the slot's :class:`Job` marked
    ``timed = False``) takes next to no time and would pull the estimate towards zero.
    """

    default_seconds = 2.0  # a label's estimate before its first job has finished

    def __init__(self, max_jobs: int, queue: int) -> None:
        if max_jobs < 1:
            raise ValueError(f"max_jobs must be >= 1, got {max_jobs}")
        if queue < 0:
            raise ValueError(f"queue must be >= 0, got {queue}")
        self.max_jobs, self.queue = int(max_jobs), int(queue)
        self.semaphore = threading.BoundedSemaphore(self.max_jobs)
        self._lock = threading.Lock()
        self.waiting = 0
        self.running = 0
        self.seconds: dict[str, float] = {}  # label -> running estimate of one job's duration
        self._jobs: set[Job] = set()  # waiting and running

    def estimate(self, label: str) -> float:
        """Expected seconds of one job with this label."""
        return self.seconds.get(label, self.default_seconds)

    def observe(self, label: str, seconds: float) -> None:
        """Record the duration of a job that succeeded and did its work."""
        with self._lock:
            old = self.seconds.get(label)
            self.seconds[label] = seconds if old is None else 0.7 * old + 0.3 * seconds

    def retry_after(self) -> int:
        """Seconds a refused client should wait: the work running and queued ahead of it, spread over the slots."""
        now = time.monotonic()
        with self._lock:
            jobs = [(job.label, job.start) for job in self._jobs]
        work = 0.0
        for label, start in jobs:
            expected = self.estimate(label)
            # a running job has part of its work done; one that overruns its estimate is still not finished
            work += expected if start is None else max(expected - (now - start), 0.5)
        return max(1, math.ceil(work / self.max_jobs))

    @contextlib.asynccontextmanager
    async def slot(self, label: str = "job") -> AsyncIterator[Job]:
        """Wait for a slot (or 503); the :class:`Job` yielded may be marked ``timed = False``."""
        job = Job(label)
        if not self.semaphore.acquire(blocking=False):
            with self._lock:
                full = self.waiting >= self.queue
                if not full:
                    self.waiting += 1
                    self._jobs.add(job)
            if full:
                wait = self.retry_after()
                raise HTTPException(
                    503, detail=f"The server is busy ({self.max_jobs} job(s) running, {self.waiting} waiting). "
                                f"Try again in {wait} s.", headers={"Retry-After": str(wait)})
            try:
                while not self.semaphore.acquire(blocking=False):
                    await asyncio.sleep(0.02)
            except BaseException:
                with self._lock:
                    self._jobs.discard(job)
                raise
            finally:
                with self._lock:
                    self.waiting -= 1
        start = job.start = time.monotonic()
        with self._lock:
            self.running += 1
            self._jobs.add(job)
        try:
            yield job
        finally:
            seconds = time.monotonic() - start
            with self._lock:
                self.running -= 1
                self._jobs.discard(job)
            self.semaphore.release()
        # only reached when the job succeeded: an exception has gone on up past this line
        if job.timed:
            self.observe(label, seconds)

    async def run(self, fn: Callable[..., Any], *args: Any, label: str = "job", **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in the thread pool, inside a slot; ``label`` names the kind of job."""
        async with self.slot(label):
            return await run_in_threadpool(fn, *args, **kwargs)


# --------------------------------------------------------------------------------------
# What the server remembers


@dataclass
class Upload:
    id: str
    path: Path
    name: str
    width: int
    height: int
    nbytes: int
    colour: bool
    used: float = field(default_factory=time.monotonic)

    def info(self) -> dict:
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height, "bytes": self.nbytes,
                "colour": self.colour, "image_url": f"/api/upload/{self.id}/image"}


@dataclass(frozen=True)
class Spec:
    """Everything that determines one result image; its hash is the result id."""

    kind: Literal["colorize", "transfer", "explain"]
    photo: str
    reference: str | None = None
    mode: str = ""  # colorize with a reference: "palette" (prior) or "transfer" (on the result)
    method: str = ""
    strength: float = 1.0
    hints: tuple = ()  # ((x, y, (r, g, b), radius), ...)
    temperature: float = DEFAULT_TEMPERATURE
    saturation: float = 1.0
    levels: bool = False  # the network sees a faded photo's L stretched (tinct.colorizer.stretch_levels)
    preserve_luminance: bool = False
    regrain: bool = False

    @property
    def id(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:24]

    @property
    def uploads(self) -> tuple[str, ...]:
        return (self.photo,) if self.reference is None else (self.photo, self.reference)


class _LRU(OrderedDict):
    """An OrderedDict that forgets its oldest entries beyond ``maxsize`` (callers lock)."""

    def __init__(self, maxsize: int, on_evict: Callable[[Any, Any], None] | None = None) -> None:
        super().__init__()
        self.maxsize, self.on_evict = maxsize, on_evict

    def get_touch(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.maxsize:
            k, v = self.popitem(last=False)
            if self.on_evict:
                self.on_evict(k, v)


@dataclass
class _SessionEntry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    session: Any = None


class _State:
    """Uploads, sessions and results of one app, all under one temporary folder."""

    def __init__(self, *, root: Path, max_upload_bytes: int, max_pixels: int | None, limiter: JobLimiter,
                 upload_ttl: float, max_uploads: int, model: str, size: int) -> None:
        self.root = root
        (root / "uploads").mkdir()
        (root / "results").mkdir()
        self.max_upload_bytes = max_upload_bytes
        self.max_pixels = max_pixels
        self.jobs = limiter
        self.upload_ttl = upload_ttl
        self.max_uploads = max_uploads
        self.model, self.size = model, size
        self.lock = threading.RLock()
        self.uploads: OrderedDict[str, Upload] = OrderedDict()
        self.images = _LRU(4)  # upload id -> decoded array
        self.sessions = _LRU(3)  # (photo id, reference id | None, levels) -> _SessionEntry
        self.specs = _LRU(512)  # result id -> Spec
        self.arrays = _LRU(4)  # result id -> full-resolution array
        self.files = _LRU(64, on_evict=self._drop_files)  # result id -> {suffix: path}
        self.explained: _LRU = _LRU(16)  # result id of an overlay -> its JSON summary
        self.closed = False

    # -- uploads -----------------------------------------------------------------------

    def evict_stale(self) -> None:
        now = time.monotonic()
        with self.lock:
            stale = [u for u in self.uploads.values() if now - u.used > self.upload_ttl]
            extra = len(self.uploads) - len(stale) - self.max_uploads
            if extra > 0:
                fresh = sorted((u for u in self.uploads.values() if u not in stale), key=lambda u: u.used)
                stale += fresh[:extra]
            for u in stale:
                self._forget_upload(u.id)

    def _forget_upload(self, uid: str) -> None:
        upload = self.uploads.pop(uid, None)
        if upload is None:
            return
        log.info("evicted upload %s (%s)", uid, upload.name)
        with contextlib.suppress(OSError):
            upload.path.unlink()
        self.images.pop(uid, None)
        for key in [k for k in self.sessions if uid in k]:
            del self.sessions[key]
        for rid in [r for r, s in self.specs.items() if uid in s.uploads]:
            self.specs.pop(rid, None)
            self.arrays.pop(rid, None)
            self.explained.pop(rid, None)
            files = self.files.pop(rid, None)
            if files:
                self._drop_files(rid, files)

    @staticmethod
    def _drop_files(_rid: str, files: dict[str, Path]) -> None:
        for path in files.values():
            with contextlib.suppress(OSError):
                path.unlink()

    def upload(self, uid: str) -> Upload:
        with self.lock:
            upload = self.uploads.get(uid)
            if upload is None:
                raise HTTPException(404, detail=f"No uploaded photo with id {uid!r}: it was removed after a while "
                                                "unused, or the server restarted. Upload the photo again.")
            upload.used = time.monotonic()
            self.uploads.move_to_end(uid)
            return upload

    def image(self, uid: str) -> np.ndarray:
        """The decoded photo of an upload (thread pool only: may decode)."""
        upload = self.upload(uid)
        with self.lock:
            img = self.images.get_touch(uid)
        if img is None:
            img = imread(upload.path, max_pixels=self.max_pixels)
            with self.lock:
                self.images.put(uid, img)
        return img

    def ingest(self, data: bytes, name: str) -> tuple[Upload, bool]:
        """Store and decode an uploaded file (thread pool only): the upload, and whether it is new
        (the same bytes uploaded before are not decoded again). Raises HTTPException."""
        digest = hashlib.sha256(data).hexdigest()[:24]
        with self.lock:
            if digest in self.uploads:
                return self.upload(digest), False
        part = self.root / "uploads" / f"{digest}.{secrets.token_hex(4)}.part"
        part.write_bytes(data)
        try:
            img = imread(part, max_pixels=self.max_pixels)
        except ImageError as exc:
            part.unlink(missing_ok=True)
            raise _image_http_error(name, exc.reason) from None
        except Exception:
            part.unlink(missing_ok=True)
            raise
        path = self.root / "uploads" / digest
        os.replace(part, path)
        upload = Upload(digest, path, name, int(img.shape[1]), int(img.shape[0]), len(data), _has_colour(img))
        with self.lock:
            if self.closed:
                raise HTTPException(503, detail="The server is shutting down.")
            self.uploads[digest] = upload
            self.images.put(digest, img)
        return upload, True

    # -- results -----------------------------------------------------------------------

    def session_entry(self, photo: str, reference: str | None, levels: bool = False) -> _SessionEntry:
        """The slot of a photo's (+ reference prior's, + levels) GuidedSession; its lock guards building
        and rendering."""
        key = (photo, reference, levels)
        with self.lock:
            entry = self.sessions.get_touch(key)
            if entry is None:
                entry = _SessionEntry()
                self.sessions.put(key, entry)
        return entry

    def compute(self, spec: Spec) -> tuple[np.ndarray, bool]:
        """The result array of a spec, and whether it was computed now (False: from the cache);
        thread pool only."""
        rid = spec.id
        with self.lock:
            arr = self.arrays.get_touch(rid)
            self.specs.put(rid, spec)
        if arr is not None:
            return arr, False
        for uid in spec.uploads:
            self.upload(uid)  # 404 early when gone
        if spec.kind == "colorize":
            arr = self._colorize(spec)
        elif spec.kind == "transfer":
            from tinct.match import transfer

            arr = transfer(self.image(spec.photo), self.image(spec.reference), spec.method, strength=spec.strength,
                           preserve_luminance=spec.preserve_luminance, regrain=spec.regrain)
        else:
            arr = self._explain(spec)
        with self.lock:
            self.arrays.put(rid, arr)
        return arr, True

    def _colorize(self, spec: Spec) -> np.ndarray:
        from tinct.guide import GuidedSession, Hint

        prior = spec.reference if spec.mode == "palette" else None
        entry = self.session_entry(spec.photo, prior, spec.levels)
        hints = [Hint(x, y, rgb, r) for x, y, rgb, r in spec.hints]
        with entry.lock:
            if entry.session is None:
                ref = self.image(prior) if prior else None
                entry.session = GuidedSession(self.image(spec.photo), model=self.model, size=self.size, reference=ref,
                                              levels=spec.levels)
            out = entry.session.render(hints, temperature=spec.temperature, saturation=spec.saturation)
        if spec.reference is not None and spec.mode == "transfer":
            from tinct.match import transfer

            out = transfer(out, self.image(spec.reference), spec.method, strength=spec.strength,
                           preserve_luminance=True)
        return out

    def _explain(self, spec: Spec) -> np.ndarray:
        from tinct.interpret import explain, render_heatmap

        img = self.image(spec.photo)
        ex = explain(img, model=self.model, size=self.size, k=3, with_saliency=False, levels=spec.levels)
        # Stretched to this photo's own range: the network is rarely sure in absolute terms,
        # and the point of the map is *where* hints would help most.
        lo, hi = np.percentile(ex.normalised_entropy[:: max(1, img.shape[0] // 512), :: max(1, img.shape[1] // 512)],
                               (2, 98))
        values = (ex.normalised_entropy - lo) / max(float(hi - lo), 1e-6)
        overlay = render_heatmap(values, _gray_u8(img), alpha=0.7)
        worst = sorted(ex.regions, key=lambda r: -r.entropy)[:5]
        summary = {
            "mean_bits": round(float(ex.entropy.mean()), 3),
            "max_bits": round(float(ex.max_entropy), 3),
            "mean_normalised": round(float(ex.normalised_entropy.mean()), 4),
            "stretch_bits": [round(float(lo) * float(ex.max_entropy), 3), round(float(hi) * float(ex.max_entropy), 3)],
            "uncertain_regions": [r.to_dict() for r in worst],
        }
        with self.lock:
            self.explained.put(spec.id, summary)
        return overlay

    def result_file(self, rid: str, arr: np.ndarray, suffix: str, like: Path | None) -> Path:
        """The full-resolution result encoded as PNG or JPEG under the temp folder (thread pool)."""
        with self.lock:
            files = self.files.get_touch(rid) or {}
            path = files.get(suffix)
        if path is not None and path.exists():
            return path
        path = self.root / "results" / f"{rid}{suffix}"
        if suffix == ".jpg":
            arr = _to_u8(arr)[..., :3]
        # a warning here (the upload's EXIF unreadable, so not copied) goes to the server's log
        imwrite(path, arr, like=like if like is not None and like.exists() else None, quality=92)
        with self.lock:
            files = self.files.get_touch(rid) or {}
            files[suffix] = path
            self.files.put(rid, files)
        return path

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.uploads.clear()
            for d in (self.images, self.sessions, self.specs, self.arrays, self.files, self.explained):
                d.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def _image_http_error(name: str, reason: str) -> HTTPException:
    """An io error as the API reports it: 400 for damaged or too large images, 415 for non-images."""
    bad_image = "exceeds" in reason or "truncated" in reason or "corrupt" in reason or "memory" in reason
    return HTTPException(400 if bad_image else 415, detail=f"{name}: {reason}")


def _has_colour(img: np.ndarray) -> bool:
    rgb = img[..., :3] if img.ndim == 3 else img[..., None]
    if rgb.shape[-1] < 3:
        return False
    step = max(1, int(math.sqrt(rgb.shape[0] * rgb.shape[1] / 250_000)))
    small = rgb[::step, ::step].astype(np.float32)
    top = float(np.iinfo(img.dtype).max) if np.issubdtype(img.dtype, np.integer) else 1.0
    return float(np.abs(small - small.mean(axis=-1, keepdims=True)).max()) > 2.0 * top / 255


def _to_u8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.clip(np.rint(np.asarray(arr, np.float32) * 255), 0, 255).astype(np.uint8)


def _gray_u8(img: np.ndarray) -> np.ndarray:
    rgb = _to_u8(img)
    if rgb.ndim == 2:
        return rgb
    rgb = rgb[..., :3].astype(np.float32)
    return np.rint(rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)).astype(np.uint8)


def _encode_preview(arr: np.ndarray, longest: int, fmt: str) -> bytes:
    """A smaller copy of an image, encoded in memory (PNG fast, or JPEG)."""
    im = Image.fromarray(_to_u8(arr))
    if longest and max(im.size) > longest:
        im.thumbnail((longest, longest), Image.Resampling.BICUBIC, reducing_gap=2.0)
    buf = io.BytesIO()
    if fmt == "jpeg":
        im.convert("RGB").save(buf, "JPEG", quality=90)
    else:
        im.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _preview_file(path: Path, longest: int, fmt: str) -> bytes | None:
    """A preview of a result file the server wrote (upright, within the pixel limit when it was
    made); None when the file has gone meanwhile (its result or its photo evicted)."""
    try:
        img = imread(path, max_pixels=None)
    except ImageError:  # the file is gone: cannot read
        return None
    return _encode_preview(img, longest, fmt)


# --------------------------------------------------------------------------------------
# Request parsing helpers


def _parse_hints(text: str | None, upload: Upload) -> tuple:
    """The ``hints`` form field (JSON) -> canonical tuple, checked against the photo's size."""
    if not text or not text.strip():
        return ()
    from tinct.guide import Hint, parse_color

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, detail=f"hints: not valid JSON ({exc.msg} at column {exc.colno})") from None
    items = data.get("hints") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise HTTPException(422, detail='hints: expected a list of {"x", "y", "color", "radius"} objects')
    if len(items) > 2000:
        raise HTTPException(422, detail=f"hints: at most 2000 hints, got {len(items)}")
    out = []
    for i, h in enumerate(items):
        try:
            if not isinstance(h, dict):
                raise ValueError("expected an object")
            hint = Hint(float(h["x"]), float(h["y"]), parse_color(h.get("color", h.get("rgb"))),
                        float(h.get("radius", 0)))
            if not (math.isfinite(hint.x) and math.isfinite(hint.y) and math.isfinite(hint.radius)):
                raise ValueError("x, y and radius must be finite numbers")
        except KeyError as exc:
            raise HTTPException(422, detail=f"hints: hint {i}: missing {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise HTTPException(422, detail=f"hints: hint {i}: {exc}") from None
        if not (0 <= hint.x < upload.width and 0 <= hint.y < upload.height):
            raise HTTPException(422, detail=f"hints: hint {i} at ({hint.x:g}, {hint.y:g}) is outside the "
                                            f"{upload.width}x{upload.height} photo")
        out.append((round(hint.x, 2), round(hint.y, 2), hint.rgb, round(min(hint.radius, 1000.0), 2)))
    return tuple(out)


def _check_method(method: str) -> str:
    from tinct.match import METHODS, parse_method

    try:
        parse_method(method)
    except ValueError:
        raise HTTPException(422, detail=f"method: unknown method {method!r}; use one of {', '.join(METHODS)}") from None
    return method.strip().lower()


# --------------------------------------------------------------------------------------
# The app


def create_app(*, max_upload_mb: float = 25, max_pixels: int | None = DEFAULT_MAX_PIXELS, max_jobs: int = 2,
               queue: int = 4, temp_dir: str | os.PathLike | None = None, upload_ttl: float = 3600.0,
               max_uploads: int = 32, model: str = "default", size: int = DEFAULT_SIZE) -> FastAPI:
    """The ``tinct serve`` application: the page at ``/``, the JSON API under ``/api``.

    Parameters
    ----------
    max_upload_mb : float
        Largest uploaded file, in MB (10^6 bytes); larger ones get 413. A request may hold
        two files (photo and reference), so its body may be twice that (plus 1 MB of fields).
    max_pixels : int or None
        Largest image decoded (decompression-bomb guard, from the header); larger -> 400.
    max_jobs : int
        CPU-heavy jobs (decoding, network runs, renders, transfers) running at once.
    queue : int
        Requests that may wait for a job slot; beyond that the answer is 503 with ``Retry-After``.
    temp_dir : path, optional
        Folder in which the server makes its own temporary folder (the system's by default).
        Uploads and results are written only there; it is removed at shutdown.
    upload_ttl : float
        Seconds an upload stays after its last use.
    max_uploads : int
        Uploads kept at most (the least recently used go first).
    model, size :
        Network weights and working size, as in :func:`tinct.colorize`.

    Returns
    -------
    FastAPI
        ``app.state.tinct`` holds the server state (``.root`` is the temporary folder,
        ``.jobs`` the :class:`JobLimiter`).
    """
    if max_upload_mb <= 0:
        raise ValueError(f"max_upload_mb must be > 0, got {max_upload_mb}")
    limiter = JobLimiter(max_jobs, queue)
    base = Path(temp_dir) if temp_dir is not None else None
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="tinct-serve-", dir=base))
    state = _State(root=root, max_upload_bytes=int(max_upload_mb * 1_000_000), max_pixels=max_pixels,
                   limiter=limiter, upload_ttl=upload_ttl, max_uploads=max_uploads, model=model, size=size)

    def cleanup() -> None:
        state.close()

    atexit.register(cleanup)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            cleanup()
            atexit.unregister(cleanup)

    from tinct import __version__

    app = FastAPI(
        title="tinct", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
        description="Colorize old photos, steer them with colour hints or a reference photo, restyle them "
                    "with colour transfer, and see where the network is unsure. Upload a photo once "
                    "(POST /api/upload), then refer to it by its id.")
    app.state.tinct = state
    request_cap = 2 * state.max_upload_bytes + 1_000_000
    app.add_middleware(_BodyLimit, limit=request_cap, message=_too_large_message(state.max_upload_bytes))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        return JSONResponse({"detail": "; ".join(parts) or "invalid request", "errors": jsonable(exc.errors())},
                            status_code=422)

    @app.exception_handler(ImageError)
    async def _image_error(_request: Request, exc: ImageError) -> JSONResponse:
        err = _image_http_error(Path(exc.path).name, exc.reason)
        return JSONResponse({"detail": err.detail}, status_code=err.status_code)

    @app.exception_handler(ValueError)
    async def _value_error(_request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(MemoryError)
    async def _memory_error(_request: Request, _exc: MemoryError) -> JSONResponse:
        return JSONResponse({"detail": "not enough memory for this photo: try a smaller one"}, status_code=500)

    @app.middleware("http")
    async def _housekeeping(request: Request, call_next: Callable) -> Response:
        if request.url.path.startswith("/api/"):
            state.evict_stale()
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if not request.url.path.startswith("/api/"):
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'")
        return response

    # -- helpers bound to this app -----------------------------------------------------

    async def read_upload(file: UploadFile, field_name: str) -> tuple[bytes, str]:
        name = os.path.basename(file.filename or field_name) or field_name
        chunks, total = [], 0
        while chunk := await file.read(1 << 20):
            total += len(chunk)
            if total > state.max_upload_bytes:
                raise HTTPException(413, detail=f"{name}: {_too_large_message(state.max_upload_bytes)}")
            chunks.append(chunk)
        if not total:
            raise HTTPException(415, detail=f"{name}: empty file (0 bytes)")
        return b"".join(chunks), name

    async def ingest(file: UploadFile, field_name: str) -> Upload:
        data, name = await read_upload(file, field_name)
        async with limiter.slot("decode") as job:
            upload, new = await run_in_threadpool(state.ingest, data, name)
            job.timed = new  # the same bytes again were not decoded: no duration to learn from
        return upload

    async def compute(spec: Spec) -> tuple[np.ndarray, bool]:
        """``state.compute`` in a job slot: the array, and whether it was computed now."""
        async with limiter.slot(spec.kind) as job:
            arr, fresh = await run_in_threadpool(state.compute, spec)
            job.timed = fresh  # a cache hit did no work: no duration to learn from
        return arr, fresh

    async def resolve(uid: str | None, file: UploadFile | None, what: str, *, required: bool = True) -> Upload | None:
        if file is not None and (file.filename or file.size):
            return await ingest(file, what)
        if uid:
            return state.upload(uid.strip())
        if required:
            raise HTTPException(422, detail=f"give an uploaded {what} id ({what}_id / id) or a {what} file, "
                                            "as multipart/form-data fields (not a JSON body)")
        return None

    def image_response(body: bytes | Path, fmt: str, headers: dict[str, str]) -> Response:
        media = "image/jpeg" if fmt == "jpeg" else "image/png"
        headers = {"Cache-Control": "no-store", **headers}
        if isinstance(body, Path):
            return FileResponse(body, media_type=media, headers=headers)
        return Response(body, media_type=media, headers=headers)

    async def respond(spec: Spec, *, fmt: str, preview: int, response: str, name: str,
                      like: Path | None, extra: dict | None = None) -> Response:
        rid = spec.id
        start = time.perf_counter()
        arr, fresh = await compute(spec)
        cached = not fresh
        seconds = time.perf_counter() - start
        if spec.kind == "explain":
            with state.lock:
                extra = {**(extra or {}), **(state.explained.get(rid) or {})}
        h, w = arr.shape[:2]
        suffix = ".jpg" if fmt == "jpeg" else ".png"
        info = {"id": rid, "width": int(w), "height": int(h), "cached": cached, "seconds": round(seconds, 3),
                "png": f"/api/result/{rid}.png", "jpeg": f"/api/result/{rid}.jpg", **(extra or {})}
        if response == "json":
            return JSONResponse(info)
        if spec.kind == "explain":
            extra = {"X-Tinct-Mean-Bits": str(info.get("mean_bits", "")),
                     "X-Tinct-Max-Bits": str(info.get("max_bits", ""))}
        else:
            extra = {}
        headers = {**extra, "X-Tinct-Id": rid, "X-Tinct-Width": str(w), "X-Tinct-Height": str(h),
                   "X-Tinct-Cached": "1" if cached else "0", "X-Tinct-Seconds": f"{seconds:.3f}",
                   "Location": f"/api/result/{rid}{suffix}",
                   "Content-Disposition": _content_disposition("inline", _download_name(name, suffix))}
        if preview and max(h, w) > preview:
            body = await run_in_threadpool(_encode_preview, arr, preview, fmt)
            return image_response(body, fmt, {**headers, "X-Tinct-Preview": "1"})
        path = await run_in_threadpool(state.result_file, rid, arr, suffix, like)
        return image_response(path, fmt, headers)

    # -- routes --------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(_docs_html(app.openapi()))

    @app.get("/api/info", summary="Server settings, limits and transfer methods")
    async def info() -> dict:
        from tinct.match import METHODS

        return {"version": __version__, "methods": list(METHODS),
                "limits": {"max_upload_mb": state.max_upload_bytes / 1e6, "max_pixels": state.max_pixels,
                           "max_jobs": limiter.max_jobs, "queue": limiter.queue, "upload_ttl_s": state.upload_ttl},
                "defaults": {"temperature": DEFAULT_TEMPERATURE, "saturation": 1.0, "method": "mkl",
                             "strength": 1.0},
                "busy": {"running": limiter.running, "waiting": limiter.waiting}}

    @app.post("/api/upload", summary="Upload a photo once; use its id afterwards",
              responses={413: {"description": "file too large"}, 415: {"description": "not an image"},
                         400: {"description": "corrupt image or too many pixels"}})
    async def upload(photo: Annotated[UploadFile, File(description="JPEG, PNG, TIFF, WebP, BMP or GIF")]) -> dict:
        """Decode and keep a photo (or a reference photo). Uploading the same bytes again gives the same id."""
        return (await ingest(photo, "photo")).info()

    @app.get("/api/upload/{uid}", summary="What is known about an upload")
    async def upload_info(uid: str) -> dict:
        return state.upload(uid).info()

    @app.get("/api/upload/{uid}/image", summary="The uploaded photo as decoded (EXIF orientation applied)",
             response_class=Response)
    async def upload_image(uid: str, max: Annotated[int, Query(ge=0, le=PREVIEW_MAX,
                                                             description="Longest side (0: as uploaded)")] = 0,
                           format: Fmt = "png") -> Response:
        state.upload(uid)
        with state.lock:
            img = state.images.get_touch(uid)
        if img is None:  # decoding takes a slot; a photo in memory only needs encoding
            img = await limiter.run(state.image, uid, label="decode")
        body = await run_in_threadpool(_encode_preview, img, max, format)
        return image_response(body, format, {})

    @app.post("/api/colorize", summary="Colorize a photo, with optional hints and reference photo",
              response_class=Response,
              responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "application/json": {}},
                               "description": "The result (full resolution unless `preview`); its id in the "
                                              "X-Tinct-Id header, or JSON with `response=json`."},
                         503: {"description": "busy: try again after Retry-After seconds"}})
    async def colorize(
        id: Annotated[str | None, Form(description="id from /api/upload")] = None,
        photo: Annotated[UploadFile | None, File(description="or the photo itself")] = None,
        hints: Annotated[str | None, Form(description='JSON: [{"x": 120, "y": 80, "color": "#c0392b", '
                                                      '"radius": 4}, ...] in full-resolution pixels')] = None,
        temperature: Annotated[float, Form(gt=0, le=MAX_TEMPERATURE, allow_inf_nan=False,
                                           description="lower: more vivid")] = DEFAULT_TEMPERATURE,
        saturation: Annotated[float, Form(ge=0, le=3, allow_inf_nan=False)] = 1.0,
        levels: Levels = False,
        reference_id: Annotated[str | None, Form(description="id of an uploaded reference photo")] = None,
        reference: Annotated[UploadFile | None, File(description="or the reference photo itself")] = None,
        reference_mode: Annotated[Literal["palette", "transfer"], Form(
            description="palette: the reference's colours steer the network; transfer: colour transfer "
                        "from the reference onto the result")] = "palette",
        method: Annotated[str, Form(description="transfer method (reference_mode=transfer)")] = "mkl",
        strength: Annotated[float, Form(ge=0, le=1, allow_inf_nan=False, description="transfer strength")] = 1.0,
        format: Annotated[Fmt, Form()] = "png",
        preview: Annotated[int, Form(ge=0, le=PREVIEW_MAX, description=preview_doc)] = 0,
        response: Annotated[Resp, Form()] = "image",
    ) -> Response:
        """Colorize an uploaded photo. The network runs once per photo (and reference); a new hint
        only re-solves the hint propagation, so it returns in about a second."""
        src = await resolve(id, photo, "photo")
        ref = await resolve(reference_id, reference, "reference", required=False)
        spec = Spec("colorize", src.id, ref.id if ref else None, mode=reference_mode if ref else "",
                    method=_check_method(method) if ref and reference_mode == "transfer" else "",
                    strength=float(strength) if ref and reference_mode == "transfer" else 1.0,
                    hints=_parse_hints(hints, src), temperature=float(temperature), saturation=float(saturation),
                    levels=bool(levels))
        return await respond(spec, fmt=format, preview=preview, response=response, name=src.name, like=src.path,
                             extra={"photo": src.id, "reference": ref.id if ref else None})

    @app.post("/api/transfer", summary="Recolour a photo in the palette of a reference photo",
              response_class=Response,
              responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "application/json": {}}}})
    async def transfer(
        source_id: Annotated[str | None, Form(description="id of the photo to change")] = None,
        source: Annotated[UploadFile | None, File(description="or the photo itself")] = None,
        reference_id: Annotated[str | None, Form(description="id of the colour donor")] = None,
        reference: Annotated[UploadFile | None, File(description="or the donor photo itself")] = None,
        method: Annotated[str, Form(description="one of /api/info methods")] = "mkl",
        strength: Annotated[float, Form(ge=0, le=1, allow_inf_nan=False)] = 1.0,
        preserve_luminance: Annotated[bool, Form()] = False,
        regrain: Annotated[bool, Form()] = False,
        format: Annotated[Fmt, Form()] = "png",
        preview: Annotated[int, Form(ge=0, le=PREVIEW_MAX, description=preview_doc)] = 0,
        response: Annotated[Resp, Form()] = "image",
    ) -> Response:
        """Colour transfer (``tinct.match.transfer``): ``source`` changes, ``reference`` gives the colours."""
        src = await resolve(source_id, source, "source")
        ref = await resolve(reference_id, reference, "reference")
        spec = Spec("transfer", src.id, ref.id, method=_check_method(method), strength=float(strength),
                    preserve_luminance=bool(preserve_luminance), regrain=bool(regrain))
        return await respond(spec, fmt=format, preview=preview, response=response, name=src.name, like=src.path,
                             extra={"photo": src.id, "reference": ref.id})

    @app.post("/api/suggest", summary="The network's most likely colours at a pixel")
    async def suggest(
        x: Annotated[float, Form(ge=0, description="column, full-resolution pixels")],
        y: Annotated[float, Form(ge=0, description="row, full-resolution pixels")],
        id: Annotated[str | None, Form()] = None,
        photo: Annotated[UploadFile | None, File()] = None,
        k: Annotated[int, Form(ge=1, le=12)] = 5,
        radius: Annotated[int, Form(ge=0, le=256)] = 0,
        reference_id: Annotated[str | None, Form(description="id of an uploaded reference photo whose "
                                                 "palette steers the suggestions")] = None,
        levels: Levels = False,
    ) -> dict:
        """Top-k distinct colours of the network's distribution at (x, y), with their probabilities."""
        src = await resolve(id, photo, "photo")
        ref = await resolve(reference_id, None, "reference", required=False)
        if not (x < src.width and y < src.height):
            raise HTTPException(422, detail=f"({x:g}, {y:g}) is outside the {src.width}x{src.height} photo")

        def work() -> list:
            from tinct.interpret import suggest_colors

            return suggest_colors(state.image(src.id), x, y, k=k, radius=radius, model=state.model, size=state.size,
                                  reference=state.image(ref.id) if ref else None, levels=bool(levels))

        found = await limiter.run(work, label="suggest")
        return {"id": src.id, "x": x, "y": y, "k": k, "suggestions": [s.to_dict() for s in found]}

    @app.post("/api/explain", summary="Where the network is unsure: an uncertainty overlay",
              response_class=Response,
              responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "application/json": {}}}})
    async def explain(
        id: Annotated[str | None, Form()] = None,
        photo: Annotated[UploadFile | None, File()] = None,
        format: Annotated[Fmt, Form()] = "png",
        preview: Annotated[int, Form(ge=0, le=PREVIEW_MAX, description=preview_doc)] = 0,
        response: Annotated[Resp, Form()] = "image",
        levels: Levels = False,
    ) -> Response:
        """Entropy of the predicted colour distribution per pixel (magma: dark = sure, bright = unsure)
        over the gray photo; JSON adds the mean entropy and the most uncertain regions with candidates."""
        src = await resolve(id, photo, "photo")
        spec = Spec("explain", src.id, levels=bool(levels))
        return await respond(spec, fmt=format, preview=preview, response=response, name=src.name,
                             like=None, extra={"photo": src.id})

    @app.get("/api/result/{name}", summary="Download a result (`<id>.png` or `<id>.jpg`)", response_class=Response,
             responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}, 404: {"description": "unknown id"}})
    async def result(name: str, download: bool = False,
                     max: Annotated[int, Query(ge=0, le=PREVIEW_MAX, description=preview_doc)] = 0) -> Response:
        """The full-resolution result (metadata of the input kept), or a preview with ``max``."""
        rid, dot, ext = name.partition(".")
        fmt = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg"}.get(ext.lower()) if dot else None
        if fmt is None:
            raise HTTPException(404, detail=f"{name}: ask for <id>.png or <id>.jpg")
        with state.lock:
            spec = state.specs.get_touch(rid)
        if spec is None:
            raise HTTPException(404, detail=f"No result with id {rid!r} (results are kept while their photo is; "
                                            "colorize again)")
        src = state.upload(spec.photo)
        suffix = ".jpg" if fmt == "jpeg" else ".png"
        filename = _download_name(src.name, suffix, spec.kind)
        headers = {"X-Tinct-Id": rid,
                   "Content-Disposition": _content_disposition("attachment" if download else "inline", filename)}
        # What is on disk or in memory is served without a job slot: a busy server still shows
        # (and downloads) finished results, and a result dropped from memory is not recomputed
        # for a preview (any encoded file makes one) or for the file already encoded.
        with state.lock:
            arr = state.arrays.get_touch(rid)
            files = dict(state.files.get_touch(rid) or {})
        whole = not max or (max >= src.width and max >= src.height)  # results have the photo's size
        path = files.get(suffix)
        if whole and path is not None and path.exists():
            return image_response(path, fmt, headers)
        if not whole and arr is None:
            for disk in (files.get(".png"), files.get(".jpg")):  # the lossless one first
                if disk is not None and (body := await run_in_threadpool(_preview_file, disk, max, fmt)):
                    return image_response(body, fmt, headers)
        if arr is None:
            arr, _ = await compute(spec)
        if not whole:
            body = await run_in_threadpool(_encode_preview, arr, max, fmt)
            return image_response(body, fmt, headers)
        like = src.path if spec.kind != "explain" else None
        path = await run_in_threadpool(state.result_file, rid, arr, suffix, like)
        return image_response(path, fmt, headers)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


# --------------------------------------------------------------------------------------
# Middleware and small pieces


def _too_large_message(limit: int) -> str:
    return f"file too large (the limit is {limit / 1e6:g} MB per file)"


class _BodyLimit:
    """413 for request bodies over ``limit`` bytes: from Content-Length before reading, else while reading."""

    def __init__(self, app: Any, limit: int, message: str) -> None:
        self.app, self.limit, self.message = app, limit, message

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await JSONResponse({"detail": f"request too large: {self.message}"}, status_code=413,
                               headers={"Connection": "close"})(scope, receive, send)
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, detail=f"request too large: {self.message}")
            return message

        await self.app(scope, limited, send)


def _download_name(name: str, suffix: str, kind: str = "colorize") -> str:
    """The result's file name from the photo's: letters of any script kept (NFC: macOS sends decomposed names)."""
    stem = unicodedata.normalize("NFC", Path(name).stem)
    stem = "".join(c if c.isalnum() or c in " -_." else "_" for c in stem)[:80].strip(" .") or "photo"
    tag = {"colorize": "colorized", "transfer": "restyled", "explain": "uncertainty"}.get(kind, "tinct")
    return f"{stem}-{tag}{suffix}"


def _content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266: HTTP headers are Latin-1, so a name in another script goes in ``filename*`` (UTF-8,
    RFC 5987) beside an ASCII ``filename`` for old clients."""
    ascii_name = "".join(c if c.isascii() else "_" for c in unicodedata.normalize("NFKD", filename)
                         if not unicodedata.combining(c))
    if ascii_name == filename:
        return f'{disposition}; filename="{filename}"'
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"


def jsonable(errors: Any) -> Any:
    """Validation errors without the non-JSON bits (exceptions in ``ctx``)."""
    return json.loads(json.dumps(errors, default=str))


def _docs_html(spec: dict) -> str:
    """A self-contained API reference page from the OpenAPI schema (no CDN: works offline)."""
    schemas = spec.get("components", {}).get("schemas", {})

    def resolve(s: dict) -> dict:
        ref = s.get("$ref", "")
        return schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else s

    def type_of(p: dict) -> str:
        if "anyOf" in p:
            return " | ".join(type_of(x) for x in p["anyOf"])
        if "enum" in p:
            return " | ".join(json.dumps(v) for v in p["enum"])
        if "const" in p:
            return json.dumps(p["const"])
        if p.get("format") == "binary" or p.get("contentMediaType") == "application/octet-stream":
            return "file"
        return p.get("type", "any")

    out = []
    for path, methods in spec.get("paths", {}).items():
        for verb, op in methods.items():
            rows = []
            for prm in op.get("parameters", []):
                sch = prm.get("schema", {})
                rows.append((prm["name"], prm.get("in", ""), type_of(sch), sch.get("default"),
                             prm.get("required", False), prm.get("description") or sch.get("description", "")))
            body = op.get("requestBody", {}).get("content", {})
            for media in body.values():
                sch = resolve(media.get("schema", {}))
                req = set(sch.get("required", []))
                for pname, prop in sch.get("properties", {}).items():
                    limits = [f"{k} {prop[k]}" for k in ("minimum", "exclusiveMinimum", "maximum") if k in prop]
                    rows.append((pname, "form", type_of(prop) + (f" ({', '.join(limits)})" if limits else ""),
                                 prop.get("default"), pname in req, prop.get("description", "")))
            resp = ", ".join(f"{code} {html.escape(r.get('description', ''))}"
                             for code, r in op.get("responses", {}).items())
            table = "".join(
                f"<tr><td><code>{html.escape(n)}</code>{' *' if r else ''}</td><td>{html.escape(w)}</td>"
                f"<td>{html.escape(t)}</td><td>{'' if d is None else html.escape(json.dumps(d))}</td>"
                f"<td>{html.escape(desc)}</td></tr>" for n, w, t, d, r, desc in rows)
            out.append(
                f"<section><h2><span class='verb {verb}'>{verb.upper()}</span> <code>{html.escape(path)}</code></h2>"
                f"<p><strong>{html.escape(op.get('summary', ''))}</strong></p>"
                f"<p>{html.escape(op.get('description', '') or '')}</p>"
                + (f"<table><thead><tr><th>name</th><th>in</th><th>type</th><th>default</th><th>about</th></tr>"
                   f"</thead><tbody>{table}</tbody></table>" if rows else "")
                + f"<p class='resp'>Responses: {resp}</p></section>")
    info = spec.get("info", {})
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(info.get('title', 'API'))} API</title><link rel="stylesheet" href="/static/style.css"></head>
<body class="docs"><main class="docs-main"><h1>{html.escape(info.get('title', ''))} API
<small>{html.escape(info.get('version', ''))}</small></h1>
<p>{html.escape(info.get('description', ''))}</p>
<p>Errors come back as JSON <code>{{"detail": "..."}}</code>. Machine-readable schema:
<a href="/openapi.json">/openapi.json</a>. Back to <a href="/">the page</a>.</p>
{''.join(out)}</main></body></html>"""


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(host: str = "127.0.0.1", port: int = 8000, *, threads: int | None = None, log_level: str = "info",
        **kw: Any) -> None:
    """Serve the page and API with uvicorn until interrupted (the temporary folder is then removed).

    Parameters
    ----------
    host, port :
        Where to listen; the default is this machine only. Give ``0.0.0.0`` to let other
        machines on your network in (there is no login).
    threads : int, optional
        torch threads (default: torch's own choice, all cores). With ``max_jobs`` jobs at
        once, ``cores // max_jobs`` avoids oversubscribing the CPU.
    log_level : str
        uvicorn's log level.
    **kw :
        Passed to :func:`create_app` (``max_upload_mb``, ``max_pixels``, ``max_jobs``,
        ``queue``, ``temp_dir``, ``upload_ttl``, ``max_uploads``, ``model``, ``size``).
    """
    import uvicorn

    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        import torch

        torch.set_num_threads(int(threads))
    app = create_app(**kw)
    if not _is_loopback(host):
        log.warning("tinct serve listens on %s: anyone who can reach this machine can use it (no login)", host)
    # Starlette spools large multipart parts to anonymous temporary files: keep those in our folder too.
    old_tempdir = tempfile.tempdir
    tempfile.tempdir = str(app.state.tinct.root)
    try:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
        log.info("tinct serve: open http://%s:%d/ in a browser (Ctrl+C to stop)", shown, port)
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        tempfile.tempdir = old_tempdir
        app.state.tinct.close()
