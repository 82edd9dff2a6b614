"""Fuzzing the load -> colorize -> save path with mutated image bytes.

Every case must end in a colorized file or a one-line error, never an exception. CI runs a
short pass; the long run (10,000 cases) is:

    TINCT_FUZZ_EXAMPLES=10000 python -m pytest tests/test_fuzz.py -q
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

pytest.importorskip("torch")

from tinct.cli import main  # noqa: E402

EXAMPLES = int(os.environ.get("TINCT_FUZZ_EXAMPLES", "30"))


def _seed_files() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(0)
    img = (rng.random((24, 32)) * 255).astype(np.uint8)
    out = []
    for fmt, ext in (("PNG", ".png"), ("JPEG", ".jpg"), ("GIF", ".gif"), ("BMP", ".bmp"), ("WEBP", ".webp"),
                     ("TIFF", ".tif")):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, fmt)
        out.append((ext, buf.getvalue()))
    return out


SEEDS = _seed_files()


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    ext, data = draw(st.sampled_from(SEEDS))
    data = bytearray(data)
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "zero"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "zero":
            data[pos:pos + 8] = bytes(min(8, len(data) - pos))
    return ext, bytes(data)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mutated())
def test_mutated_files_never_crash(case, tmp_path_factory, capsys):
    ext, data = case
    folder = tmp_path_factory.mktemp("fuzz")
    src = folder / f"in{ext}"
    src.write_bytes(data)
    out = folder / "out"
    code = main(["colorize", str(src), "-o", str(out), "-q", "--workers", "1", "--size", "64"])
    err = capsys.readouterr().err
    assert code in (0, 1)
    assert src.read_bytes() == data  # input untouched
    outputs = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    if code == 0:
        assert len(outputs) == 1
        with Image.open(outputs[0]) as im:
            im.load()
    else:
        assert outputs == [], "a failed photo leaves no partial output"
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"error: {src}: "), err
