"""Hostile conditions end to end: a corpus of bad and odd files through the CLI, read-only and
full disks, symlink loops, kill -9 during training, 50 concurrent uploads to a real server."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from _corpus import BAD, bomb_png, encode, exif_bytes, noise
from conftest import file_digests, free_port, write_crops
from PIL import Image, ImageOps

pytest.importorskip("torch")

import tinct.io as tio  # noqa: E402
from tinct.cli import main  # noqa: E402
from tinct.io import imread  # noqa: E402

FAST = ["--size", "64", "--workers", "1"]


# ----------------------------------------------------------------------------- the corpus

def _gif(path: Path) -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in [(200, 40, 40), (40, 200, 40), (40, 40, 200)]]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)


def _webp(path: Path) -> None:
    frames = [Image.fromarray(noise(30, 40)) for _ in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, lossless=True)


def _palette_transparent(path: Path) -> None:
    im = Image.fromarray(noise(30, 40)).quantize(16)
    im.save(path, transparency=0)


def _gray16_png(path: Path) -> None:
    Image.fromarray((np.linspace(0, 65535, 30 * 40).reshape(30, 40)).astype(np.uint16)).save(path)


def _rgb16_tiff(path: Path) -> None:
    import tifffile

    tifffile.imwrite(path, noise(30, 40, 3, np.uint16), photometric="rgb")


def _float_tiff(path: Path) -> None:
    Image.fromarray(np.random.default_rng(1).random((30, 40), dtype=np.float32), "F").save(path)


# file name -> how to make it; every one of these must come out as a photo of the input's size
ODD: dict[str, object] = {
    "one-pixel.png": lambda p: Image.fromarray(noise(1, 1)).save(p),
    "strip-1x10000.png": lambda p: Image.fromarray(noise(1, 10_000, 1)[..., 0]).save(p),
    "column-10000x1.png": lambda p: Image.fromarray(noise(10_000, 1, 1)[..., 0]).save(p),
    "cmyk.jpg": lambda p: Image.fromarray(noise(30, 40, 4), "CMYK").save(p, quality=95),
    "gray16.png": _gray16_png,
    "rgb16.tif": _rgb16_tiff,
    "float32.tif": _float_tiff,
    "palette-transparent.png": _palette_transparent,
    "la.png": lambda p: Image.fromarray(noise(30, 40, 2), "LA").save(p),
    "rgba.png": lambda p: Image.fromarray(noise(30, 40, 4)).save(p),
    "one-bit.png": lambda p: Image.fromarray(noise(30, 40, 1)[..., 0] > 128).save(p),
    "i16.png": lambda p: Image.fromarray(noise(30, 40, 1, np.uint16)[..., 0]).convert("I;16").save(p),
    "exif-rotated.jpg": lambda p: Image.fromarray(noise(30, 40)).save(p, exif=exif_bytes(orientation=6)),
    "corrupt-exif.jpg": lambda p: Image.fromarray(noise(30, 40)).save(
        p, exif=b"Exif\x00\x00" + b"\xde\xad\xbe\xef" * 8),
    "animated.gif": _gif,
    "animated.webp": _webp,
    "png-named.jpg": lambda p: p.write_bytes(encode(noise(30, 40), "PNG")),
    "progressive.jpg": lambda p: Image.fromarray(noise(30, 40)).save(p, progressive=True),
    "interlaced.png": lambda p: Image.fromarray(noise(30, 40)).save(p, interlace=1),
    "bitmap.bmp": lambda p: Image.fromarray(noise(30, 40)).save(p),
    "UPPER.JPG": lambda p: Image.fromarray(noise(30, 40)).convert("L").save(p),
    "Großmutter 1932 (scan).jpg": lambda p: Image.fromarray(noise(30, 40)).convert("L").save(p),
    "already-colour.png": lambda p: Image.fromarray(noise(30, 40)).save(p),
    "all-black.png": lambda p: Image.new("L", (40, 30), 0).save(p),
    "all-white.png": lambda p: Image.new("L", (40, 30), 255).save(p),
}


@pytest.fixture()
def corpus(tmp_path) -> tuple[Path, dict[str, str], list[str]]:
    """A folder of odd photos and bad files; returns (folder, bad name -> expected reason, odd names)."""
    root = tmp_path / "corpus"
    root.mkdir()
    for name, make in ODD.items():
        make(root / name)
    bad = {}
    for kind, (make, reason) in BAD.items():
        if kind in ("folder", "missing", "svg"):  # not files a folder walk would pick up
            continue
        scratch = tmp_path / "scratch" / kind.replace(" ", "-")
        scratch.mkdir(parents=True)
        made = make(scratch)
        name = kind.replace(" ", "-") + made.suffix
        made.rename(root / name)
        bad[name] = reason
    (root / "photo-link.png").symlink_to(root / "all-black.png")
    odd = [*ODD, "photo-link.png"]
    (root / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    bad["dangling.jpg"] = "no such file"
    (root / "loop").mkdir()
    (root / "loop" / "back").symlink_to(root, target_is_directory=True)  # a folder loop
    return root, bad, odd


def _expected_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).size if im.format == "JPEG" else im.size


def test_corpus_of_bad_and_odd_files_through_the_cli(corpus, tmp_path, capfd):
    root, bad, odd = corpus
    assert len(bad) + len(odd) + 1 >= 30  # + the symlink loop
    before = file_digests(root)
    out = tmp_path / "out"
    code = main(["colorize", str(root), "-o", str(out), "--json", str(tmp_path / "s.json"), *FAST])
    err = capfd.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    for line in err.splitlines():  # nothing but one-line errors, warnings and notes, the summary and the list
        assert line.startswith(("error: ", "warning: ", "note: ", "failed files:", "  ")) or " colorized" in line, line
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    for name, reason in bad.items():  # one line each, naming the file and the problem
        assert f"error: {root / name}: {reason}" in errors, name
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["failed"] == len(bad) and summary["done"] == len(odd)
    for name in odd:
        result = imread(out / name)
        assert result.shape[:2][::-1] == _expected_size(root / name), name
        assert result.shape[2] in (3, 4)
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert file_digests(root) == before  # inputs byte-identical
    assert not (out / "loop").exists()  # the loop adds no photos and no endless walk
    # the same command again: all finished photos are skipped, the bad ones reported again
    assert main(["colorize", str(root), "-o", str(out), "--json", str(tmp_path / "s2.json"), "-q", *FAST]) == 1
    again = json.loads((tmp_path / "s2.json").read_text())
    assert (again["done"], again["skipped"], again["failed"]) == (0, len(odd), len(bad))


def test_transfer_and_explain_refuse_bad_files_in_one_line(tmp_path, capfd):
    good = tmp_path / "good.png"
    Image.fromarray(noise(40, 50)).save(good)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")
    bomb = bomb_png(tmp_path / "bomb.png", 10_000, 10_000)
    assert main(["transfer", str(broken), str(good), "-o", str(tmp_path / "t.png")]) == 1
    assert main(["transfer", str(good), str(bomb), "-o", str(tmp_path / "t2.png")]) != 0
    assert main(["explain", str(broken), "-o", str(tmp_path / "x")]) != 0
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert f"{broken}: truncated or corrupt image data" in err
    assert f"{bomb}: 100.0 megapixels exceeds the limit" in err


# ----------------------------------------------------------------------------- the output side

@pytest.fixture()
def album(tmp_path) -> Path:
    src = tmp_path / "album"
    src.mkdir()
    for i in range(3):
        Image.fromarray(noise(40, 60)).convert("L").save(src / f"p{i}.jpg")
    return src


def test_read_only_output_folder(album, tmp_path, capfd, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: make the folder refuse new files the way the kernel would
        real = tio._create_temp

        def refuse(path):
            if Path(path).parent == out:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(tio, "_create_temp", refuse)
    else:
        out.chmod(0o555)
    before = file_digests(album)
    try:
        code = main(["colorize", str(album), "-o", str(out), *FAST])
    finally:
        out.chmod(0o755)
    err = capfd.readouterr().err
    assert code == 1 and "Traceback" not in err
    for i in range(3):
        assert f"error: {out / f'p{i}.jpg'}: cannot write (Permission denied)" in err
    assert "3 failed" in err
    assert list(out.iterdir()) == [] and file_digests(album) == before


def test_disk_full_half_way_through_a_batch(album, tmp_path, capfd, monkeypatch):
    out = tmp_path / "out"
    real, written = tio._encode, []

    def fill_up(fp, *args, **kwargs):  # the first photo fits, then the disk is full mid-file
        if written:
            fp.write(b"\xff\xd8\xff" + bytes(500))
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(1)
        return real(fp, *args, **kwargs)

    monkeypatch.setattr(tio, "_encode", fill_up)
    code = main(["colorize", str(album), "-o", str(out), *FAST])
    err = capfd.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.count("cannot write (No space left on device)") == 2
    assert [p.name for p in out.iterdir()] == ["p0.jpg"]  # no partial files
    assert imread(out / "p0.jpg").shape == (40, 60, 3)
    monkeypatch.setattr(tio, "_encode", real)  # space freed: the same command finishes the batch
    assert main(["colorize", str(album), "-o", str(out), "-q", *FAST]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["p0.jpg", "p1.jpg", "p2.jpg"]


def test_output_folder_that_is_a_file(album, tmp_path, capfd):
    out = tmp_path / "out"
    out.write_text("not a folder")
    assert main(["colorize", str(album), "-o", str(out), *FAST]) != 0
    err = capfd.readouterr().err
    assert "Traceback" not in err and str(out) in err
    assert out.read_text() == "not a folder"


# ----------------------------------------------------------------------------- kill -9 while training

def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _step_of(path: Path) -> int:
    import torch

    return int(torch.load(path, map_location="cpu", weights_only=True)["step"])


def test_kill_minus_9_during_training_resumes_from_the_last_good_checkpoint(tmp_path, photos):
    (tmp_path / "data").mkdir()
    data = write_crops(tmp_path / "data", photos, seed=3, per_photo=3, ext=".png")
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    base = [sys.executable, "-m", "tinct", "train", str(data), "--out", str(run), "--quiet"]
    first = [*base, "--preset", "smoke", "--set", "pretrained=false", "--set", "holdout_fraction=0.25",
             "--set", "max_steps=400", "--set", "checkpoint_every=1", "--set", "eval_every=100",
             "--set", "threads=1"]
    ckpt = run / "checkpoint.pt"
    last = 0
    for attempt, cmd in enumerate([first, [*base, "--resume"], [*base, "--resume"]]):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        target = last + 15
        _wait_for(lambda: _safe_step(ckpt) >= target, 180, f"checkpoints (try {attempt})")  # noqa: B023
        time.sleep(0.05 * attempt)  # land at different points of the save cycle
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        step = _step_of(ckpt)  # the newest checkpoint is whole: no half-written file ever replaces it
        assert step >= last + 15
        last = step
    # damage the newest checkpoint on disk: resume falls back to the one before
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    prev_step = _step_of(run / "checkpoint.pt.prev")
    res = subprocess.run([*base, "--resume", "--set", f"max_steps={last + 5}"], env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "unreadable" in res.stderr and "resuming from checkpoint.pt.prev" in res.stderr
    assert f"resumed from step {prev_step}" in res.stderr
    assert json.loads((run / "summary.json").read_text())["step"] == last + 5
    assert _step_of(ckpt) == last + 5
    assert not list(run.glob("*.tmp"))


def _safe_step(path: Path) -> int:
    try:
        return _step_of(path)
    except (OSError, RuntimeError, EOFError):  # not there yet
        return -1


# ----------------------------------------------------------------------------- 50 uploads at once

def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc for the server's memory")
def test_fifty_concurrent_uploads_complete_or_get_503(tmp_path, photos):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    port, temp = free_port(), tmp_path / "serve-tmp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "tinct", "serve", "--port", str(port), "--max-jobs", "2",
                               "--queue", "8", "--threads", "1", "--temp-dir", str(temp)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _answers(httpx, url), 60, "the server")
        rng = np.random.default_rng(7)
        base = photos["astronaut"]
        bodies = []
        for i in range(50):  # distinct photos (no dedupe), ~0.3 MP each
            y, x = rng.integers(0, 200, 2)
            crop = np.ascontiguousarray(base[y:y + 300, x:x + 300])
            crop[0, 0] = [i, i, i]
            bodies.append(encode(crop, "JPEG", quality=90))
        warm = httpx.post(f"{url}/api/colorize", files={"photo": ("w.jpg", bodies[0], "image/jpeg")}, timeout=60)
        assert warm.status_code == 200  # the network is loaded: what follows is the load itself
        rss_warm = _rss_mb(server.pid)
        results: list[object] = [None] * 50
        go = threading.Barrier(50)

        def client(i: int) -> None:
            go.wait()
            try:
                r = httpx.post(f"{url}/api/colorize", files={"photo": (f"p{i}.jpg", bodies[i], "image/jpeg")},
                               data={"response": "json"}, timeout=120)
                results[i] = r.status_code
            except httpx.HTTPError as exc:
                results[i] = repr(exc)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert set(results) <= {200, 503}, results
        assert results.count(200) >= 10  # 2 running + 8 waiting at least get through
        assert results.count(503) >= 1  # and the rest are turned away, not queued without end
        peak = _rss_mb(server.pid, "VmHWM")
        print(f"50 uploads: {results.count(200)} x 200, {results.count(503)} x 503; "
              f"server RSS warm {rss_warm:.0f} MB, peak {peak:.0f} MB")  # shown with pytest -s
        assert peak - rss_warm < 800, (rss_warm, peak)  # bounded: no 50 photos in memory at once
        assert httpx.get(f"{url}/api/info", timeout=10).json()["busy"] == {"running": 0, "waiting": 0}
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 0, server.stderr.read()[-2000:]
    assert not temp.exists() or list(temp.iterdir()) == []  # no temp files left after


def _answers(httpx, url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/info", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
