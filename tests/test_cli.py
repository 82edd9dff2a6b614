"""The tinct command line, in-process through main(argv)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import file_digests
from PIL import Image

from tinct.cli import main

pytest.importorskip("torch")


@pytest.fixture()
def album(tmp_path, photos) -> Path:
    """A folder of real photos with a subfolder and one broken file."""
    src = tmp_path / "album"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(photos["camera"][::2, ::2]).save(src / "camera.jpg", quality=90)
    Image.fromarray(photos["chelsea"]).convert("L").save(src / "sub" / "cat.png")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    return src


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("tinct ")


def test_colorize_folder_goes_on_past_a_bad_file(album, tmp_path, capsys):
    before = file_digests(album)
    out = tmp_path / "out"
    code = main(["colorize", str(album), "-o", str(out), "--json", str(tmp_path / "s.json"), "--workers", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"error: {album / 'broken.jpg'}: " in err and "Traceback" not in err
    assert file_digests(album) == before  # inputs untouched
    cam = np.asarray(Image.open(out / "camera.jpg"))
    cat = Image.open(out / "sub" / "cat.png")
    assert cam.shape == (256, 256, 3) and cat.size == (451, 300) and cat.mode == "RGB"
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["done"] == 2 and summary["failed"] == 1
    assert summary["errors"][0]["file"].endswith("broken.jpg")
    assert not list(out.rglob("*.tmp*"))
    # the same command again: finished photos are skipped, nothing rewritten
    stamp = (out / "camera.jpg").stat().st_mtime_ns
    assert main(["colorize", str(album), "-o", str(out), "-q"]) == 1
    assert (out / "camera.jpg").stat().st_mtime_ns == stamp


def test_colorize_format_override_and_never_overwrites_inputs(album, tmp_path, capsys):
    one = album / "camera.jpg"
    assert main(["colorize", str(one), "-o", str(tmp_path / "png"), "--format", "png", "-q"]) == 0
    assert Image.open(tmp_path / "png" / "camera.png").format == "PNG"
    before = one.read_bytes()
    capsys.readouterr()
    assert main(["colorize", str(one), "-o", str(album), "--overwrite", "-q"]) == 1  # would overwrite the input
    assert one.read_bytes() == before
    assert f"error: {one}: output {one} would overwrite an input" in capsys.readouterr().err  # and says why


def test_colorize_with_hints_and_bad_options(album, tmp_path, capsys):
    one = str(album / "camera.jpg")
    assert main(["colorize", one, "-o", str(tmp_path / "h"), "--hint", "60,150,#b03030,3", "-q"]) == 0
    px = np.asarray(Image.open(tmp_path / "h" / "camera.jpg"))[150, 60].astype(int)
    assert px[0] > px[1] + 15  # the hint made that pixel red
    assert main(["colorize", one, "-o", str(tmp_path / "x"), "--hint", "1,2"]) == 2
    assert main(["colorize", one, "-o", str(tmp_path / "x"), "--temperature", "0"]) == 2
    assert main(["colorize", one, "-o", str(tmp_path / "x"), "--temperature", "2.5"]) == 2
    assert main(["colorize", one, "-o", str(tmp_path / "x"), "--balance", "-0.5"]) == 2
    assert not (tmp_path / "x").exists()  # refused before anything was written
    assert main(["colorize", str(tmp_path / "nothing-here"), "-o", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "X,Y,#RRGGBB" in err and "nothing-here" in err
    assert "--temperature must be in (0, 2], got 0" in err and "--temperature must be in (0, 2], got 2.5" in err
    assert "--balance must be in [0, 1], got -0.5" in err


def test_transfer_file_folder_and_palette(tmp_path, photos, capsys):
    Image.fromarray(photos["astronaut"][::2, ::2]).save(tmp_path / "a.png")
    Image.fromarray(photos["coffee"]).save(tmp_path / "ref.jpg")
    out = tmp_path / "a_mkl.png"
    assert main(["transfer", str(tmp_path / "a.png"), str(tmp_path / "ref.jpg"), "-o", str(out),
                 "--save-palette", str(tmp_path / "pal.json"), "-q"]) == 0
    via_photo = np.asarray(Image.open(out))
    out2 = tmp_path / "again.png"
    assert main(["transfer", str(tmp_path / "a.png"), str(tmp_path / "pal.json"), "-o", str(out2), "-q"]) == 0
    assert np.abs(np.asarray(Image.open(out2)).astype(int) - via_photo).max() <= 1
    folder = tmp_path / "batch"
    folder.mkdir()
    Image.fromarray(photos["chelsea"]).save(folder / "cat.jpg")
    assert main(["transfer", str(folder), str(tmp_path / "ref.jpg"), "-o", str(tmp_path / "tout"),
                 "-m", "hm", "-q"]) == 0
    assert (tmp_path / "tout" / "cat_hm.jpg").exists()
    capsys.readouterr()
    assert main(["transfer", str(folder), str(tmp_path / "ref.jpg"), "-o", str(tmp_path / "t"), "-m", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'nope'" in err and err.count("hm-mkl-hm") == 1  # the valid methods, listed once
    # a one-colour reference is allowed (it paints the photo that colour) but said to be one
    Image.fromarray(np.full((20, 30, 3), (230, 120, 20), np.uint8)).save(tmp_path / "orange.png")
    assert main(["transfer", str(tmp_path / "a.png"), str(tmp_path / "orange.png"), "-o",
                 str(tmp_path / "flat.png")]) == 0
    assert "orange.png has almost a single colour (RGB spread 0.0 levels)" in capsys.readouterr().err
    assert main(["transfer", str(tmp_path / "a.png"), str(tmp_path / "ref.jpg"), "-o", str(tmp_path / "b.png")]) == 0
    assert "single colour" not in capsys.readouterr().err


def test_evaluate_writes_a_report(tmp_path, photos):
    data = tmp_path / "data"
    data.mkdir()
    for n in ("astronaut", "coffee"):
        Image.fromarray(photos[n]).save(data / f"{n}.png")
    out = tmp_path / "report"
    assert main(["evaluate", str(data), "-m", "gray", "-m", "mean-colour", "--out", str(out), "--size", "128",
                 "--no-semantic", "--quiet"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    s = report["summary"]
    assert s["gray"]["colorfulness"] < 1.0 and s["mean-colour"]["auc"] > s["gray"]["auc"]
    # each method minus gray, with a 95% interval over resamples of the photos; gray has none
    assert "difference_to_gray_95" not in s["gray"] and report["config"]["bootstrap"] == 1000
    for k, d in s["mean-colour"]["difference_to_gray_95"].items():
        assert d["difference"] == pytest.approx(s["mean-colour"][k] - s["gray"][k], abs=1e-9), k
        assert d["interval"][0] <= d["difference"] <= d["interval"][1], k
    assert s["mean-colour"]["difference_to_gray_95"]["psnr"]["interval"][0] > 0  # better than gray on both photos
    assert main(["evaluate", str(data), "-m", "gray", "-m", "mean-colour", "--bootstrap", "-5", "--quiet"]) == 2
    assert "mean-colour minus gray, 95% bootstrap interval" in (out / "report.html").read_text()
    assert len(report["images"]) == 2 and (out / "report.html").read_text().count("<img") == 2 * 4
    assert len((out / "metrics.csv").read_text().splitlines()) == 1 + 2 * 2


def test_evaluate_compares_against_a_chosen_baseline(tmp_path, photos, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for n in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(photos[n]).save(data / f"{n}.png")
    runs = {}
    for base in ("mean-colour", "auto"):
        out = tmp_path / base
        assert main(["evaluate", str(data), "-m", "gray", "-m", "mean-colour", "-m", "auto", "--baseline", base,
                     "--out", str(out), "--size", "96", "--no-semantic", "--quiet"]) == 0
        runs[base] = json.loads((out / "metrics.json").read_text())
        assert runs[base]["config"]["baseline"] == base
        assert "auto minus gray, 95% bootstrap interval" in (out / "report.html").read_text()
    s = runs["mean-colour"]["summary"]
    assert "difference_to_baseline_95" not in s["mean-colour"] and "difference_to_baseline_95" not in s["gray"]
    assert "feature_distance" not in s["gray"]  # not computed with --no-semantic (was printed as inf)
    mine = s["auto"]["difference_to_baseline_95"]
    theirs = runs["auto"]["summary"]["mean-colour"]["difference_to_baseline_95"]
    for k in ("psnr", "auc", "auc_rebalanced"):
        assert mine[k]["difference"] == pytest.approx(s["auto"][k] - s["mean-colour"][k], abs=1e-9), k
        # same seed, same resamples: auto minus mean-colour mirrors mean-colour minus auto exactly
        assert mine[k]["interval"] == pytest.approx([-theirs[k]["interval"][1], -theirs[k]["interval"][0]]), k
    printed = capsys.readouterr().out
    assert "auto minus mean-colour, 95% bootstrap interval" in printed and "gray minus" not in printed
    assert main(["evaluate", str(data), "-m", "gray", "--baseline", "auto", "--quiet"]) == 2
    assert "baseline 'auto' is not one of the methods ['gray']" in capsys.readouterr().err
    assert main(["evaluate", str(data), "-m", "gray", "-m", "mean-colour", "--baseline", "mean-colour",
                 "--bootstrap", "0", "--quiet"]) == 2
    assert "needs bootstrap > 0" in capsys.readouterr().err


def test_evaluate_scores_the_balance_it_is_given(tmp_path, photos):
    data = tmp_path / "data"
    data.mkdir()
    for n in ("astronaut", "coffee"):
        Image.fromarray(photos[n]).save(data / f"{n}.png")
    runs = {}
    for balance in ("0", "0.3"):
        out = tmp_path / f"b{balance}.json"
        assert main(["evaluate", str(data), "-m", "auto", "--balance", balance, "--json", str(out), "--size", "96",
                     "--no-semantic", "--bootstrap", "0", "--quiet"]) == 0
        runs[balance] = json.loads(out.read_text())
        assert runs[balance]["config"]["balance"] == float(balance)
    # a stronger logit adjustment gives rare (saturated) colours more weight
    assert runs["0.3"]["summary"]["auto"]["colorfulness"] > runs["0"]["summary"]["auto"]["colorfulness"] + 2


def test_colorize_reads_a_list_of_photos(tmp_path, photos):
    (tmp_path / "in dir").mkdir()
    Image.fromarray(photos["coffee"][:128, :160]).save(tmp_path / "in dir" / "café 1.png")
    Image.fromarray(photos["chelsea"][:128, :160]).save(tmp_path / "cat.jpg")
    listed = tmp_path / "lists" / "mine.TXT"
    listed.parent.mkdir()
    # Notepad style: byte-order mark, CRLF, a comment, a blank line; relative to the list's folder
    listed.write_bytes("\ufeff# scans\r\n../in dir/café 1.png\r\n\r\n  ../cat.jpg  \r\n".encode("utf-8"))
    assert main(["colorize", str(listed), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(["cat.jpg", "café 1.png"])


def test_levels_flag_reaches_the_network(tmp_path, photos):
    faded = (np.clip(0.2 + 0.6 * photos["astronaut"][:160, :192] / 255.0, 0, 1) * 255).astype(np.uint8)
    Image.fromarray(faded).save(tmp_path / "faded.png")
    outs = {}
    for flags in ([], ["--levels"]):
        out = tmp_path / f"out{len(flags)}"
        assert main(["colorize", str(tmp_path / "faded.png"), "-o", str(out), "--quiet", *flags]) == 0
        outs[len(flags)] = np.asarray(Image.open(out / "faded.png")).astype(int)
    assert np.abs(outs[1] - outs[0]).mean() > 1  # --levels changes the colours
    assert main(["evaluate", str(tmp_path / "faded.png"), "-m", "auto", "--levels", "--size", "96",
                 "--no-semantic", "--quiet", "--json", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["config"]["levels"] is True


def test_evaluate_names_a_bad_photo_list(tmp_path, capsys):
    missing = tmp_path / "missing.txt"
    missing.write_text("# nothing here exists\nghost.jpg\n")
    assert main(["evaluate", str(missing), "-m", "gray", "--quiet"]) == 2
    assert "no line of it names an existing file" in capsys.readouterr().err  # the reason, not just "no photos"
    data = tmp_path / "data"
    data.mkdir()
    (data / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    Image.new("L", (64, 64), 90).save(data / "gray.png")
    assert main(["evaluate", str(data), "-m", "gray", "--quiet"]) == 2
    assert "(1 unreadable, the first: " in capsys.readouterr().err
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(128, 256)))
    assert main(["evaluate", str(binary), "-m", "gray", "--quiet"]) == 2
    assert f"{binary}: not a readable list of photos" in capsys.readouterr().err


def test_evaluate_scores_the_network_at_the_saturation_asked(tmp_path, photos):
    data = tmp_path / "data"
    data.mkdir()
    for n in ("astronaut", "coffee"):
        Image.fromarray(photos[n]).save(data / f"{n}.png")
    args = ["evaluate", str(data), "-m", "auto", "-m", "gray", "--size", "128", "--work-size", "128",
            "--no-semantic", "--quiet", "--threads", "1"]
    runs = {}
    for k in ("0", "1", "1.5"):
        assert main([*args, "--saturation", k, "--json", str(tmp_path / f"{k}.json")]) == 0
        runs[k] = json.loads((tmp_path / f"{k}.json").read_text())["summary"]
    gray, none = runs["1"]["gray"], runs["0"]["auto"]
    assert abs(none["psnr"] - gray["psnr"]) < 0.1 and none["colorfulness"] < 1  # no chroma: gray
    cf = [runs[k]["auto"]["colorfulness"] for k in ("0", "1", "1.5")]
    assert cf[0] < cf[1] < cf[2] and cf[2] > 1.3 * cf[1]
    for bad in (["--saturation", "-1"], ["--saturation", "nan"], ["--temperature", "0"]):
        assert main([*args, *bad]) == 2  # refused before any photo is read


def test_unknown_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["colorize"])
    assert exc.value.code == 2
    assert main([]) == 2


def test_photos_that_would_share_an_output_name_each_get_their_own(tmp_path):
    src = tmp_path / "in"
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    rng = np.random.default_rng(0)
    for name in ("x.png", "x.jpg", "X.jpeg"):
        Image.fromarray((rng.random((20, 30)) * 255).astype(np.uint8)).save(src / "a" / name)
    Image.fromarray((rng.random((20, 30)) * 255).astype(np.uint8)).save(src / "b" / "x.png")
    out = tmp_path / "out"
    # three names in one folder that all become x.jpg, and the same file name in two inputs
    assert main(["colorize", str(src / "a"), str(src / "b"), "-o", str(out), "--format", "jpg", "-q",
                 "--size", "64", "--workers", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["X.jpg", "x_jpg.jpg", "x_png.jpg", "x_png2.jpg"]


def test_a_renamed_output_never_takes_another_photos_name(tmp_path):
    from tinct.batch import plan_jobs

    src = tmp_path / "in"
    src.mkdir()
    for name in ("x.jpg", "x.png", "x_png.jpg"):
        (src / name).write_bytes(b"")
    jobs = {j.source.name: j.output.name for j in plan_jobs([str(src)], tmp_path / "out", fmt="jpg")}
    assert jobs == {"x.jpg": "x.jpg", "x_png.jpg": "x_png.jpg", "x.png": "x_png2.jpg"}
    # writing beside the inputs: a renamed output is never one of the photos
    jobs = {j.source.name: j.output.name for j in plan_jobs([str(src)], src, fmt="jpg", suffix="")}
    assert jobs["x.png"] == "x_png2.jpg"


def test_refusals_come_first_and_name_what_is_wrong(album, tmp_path, capsys):
    """Settings and output folders are checked once, before any photo: exit 2 and one line naming them
    (not one line per photo blaming the photo)."""
    one = str(album / "camera.jpg")
    a_file = tmp_path / "outfile"
    a_file.write_text("keep me")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello world\n")
    for argv, says in [(["colorize", str(album), "-o", str(a_file)], f"{a_file}: exists and is not a folder"),
                       (["explain", one, "-o", str(a_file)], f"{a_file}: exists and is not a folder"),
                       (["colorize", one, "-o", str(tmp_path / "x"), "--size", "10"], "--size must be at least 32"),
                       (["explain", one, "-o", str(tmp_path / "x"), "--size", "0"], "--size must be at least 32"),
                       (["colorize", one, "-o", str(tmp_path / "x"), "--model", str(notes)],
                        f"{notes}: not a tinct weight file"),
                       (["colorize", str(notes), "-o", str(tmp_path / "x")], f"{notes}: a .txt input is read as")]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and says in err, (argv, err)
    assert a_file.read_text() == "keep me" and not (tmp_path / "x").exists()


def test_batch_side_messages(album, tmp_path, photos, capsys):
    one = album / "camera.jpg"
    # scribbles drawn on a layer of another size: said in those words
    layer = tmp_path / "strokes.png"
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(layer)
    Image.new("RGBA", (5, 5), (200, 30, 30, 255)).save(tmp_path / "dot.png")
    strokes = Image.open(layer)
    strokes.paste(Image.open(tmp_path / "dot.png"), (10, 10))
    strokes.save(layer)
    assert main(["colorize", str(one), "-o", str(tmp_path / "s"), "--scribbles", str(layer), "-q"]) == 1
    w, h = Image.open(one).size
    assert f"the scribble layer {layer} is 40x40, the photo {w}x{h}" in capsys.readouterr().err
    # a photo that already has colour is colorized, and the user is told so once at the end
    colour = tmp_path / "astronaut.png"
    Image.fromarray(photos["astronaut"][::4, ::4]).save(colour)
    assert main(["colorize", str(colour), str(one), "-o", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    assert f"note: {colour} already had colour" in err and (tmp_path / "c" / "astronaut.png").is_file()
    assert str(one) not in err  # the gray one is not mentioned
    # --save-palette into a folder that does not exist yet
    pal = tmp_path / "new" / "deeper" / "style.json"
    assert main(["transfer", str(one), str(one), "-o", str(tmp_path / "t.png"), "--save-palette", str(pal),
                 "-q"]) == 0
    assert json.loads(pal.read_text())["format"]
    # explain goes on past a bad file (listed first) and exits 1 with a summary
    out = tmp_path / "why"
    assert main(["explain", str(album / "broken.jpg"), str(one), "-o", str(out), "--size", "64"]) == 1
    err = capsys.readouterr().err
    assert f"error: {album / 'broken.jpg'}" in err and "1 explained, 1 failed" in err
    assert (out / "camera" / "suggestions.json").is_file() and not (out / "broken").exists()
    # evaluate scores what it can, names the rest, exits 1; its JSON is standard (no bare NaN)
    Image.fromarray(photos["astronaut"][::4, ::4]).save(album / "astronaut.png")
    assert main(["evaluate", str(album), "-m", "gray", "--no-semantic", "--bootstrap", "0", "--quiet",
                 "--out", str(tmp_path / "rep")]) == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "note: 2 grayscale photo(s) skipped" in err

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in metrics.json")

    report = json.loads((tmp_path / "rep" / "metrics.json").read_text(), parse_constant=refuse)
    assert report["images"][0]["metrics"]["gray"]["feature_distance"] is None
