"""Self-describing checkpoints and their error cases."""

from __future__ import annotations

import pytest
import torch

from vmf.model import CheckpointError, build_model, load_checkpoint, load_weights, save_checkpoint


def _clip():
    return torch.randn(1, 3, 8, 48, 48, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("baseline", [False, True], ids=["vmf", "mobile3d"])
def test_round_trip_reproduces_logits_exactly(tmp_path, baseline):
    torch.manual_seed(0)
    model = build_model("1G", baseline=baseline, num_classes=12).eval()
    for m in model.modules():  # non-default BN statistics must survive too
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    path = save_checkpoint(model, tmp_path / "ckpt.pt")
    loaded = load_checkpoint(path)
    assert (loaded.cfg, loaded.baseline, loaded.num_classes) == (model.cfg, baseline, 12)
    with torch.no_grad():
        torch.testing.assert_close(loaded(_clip()), model(_clip()), atol=0, rtol=0)
    assert not list(tmp_path.glob("*.tmp")), "temporary file left behind"


def test_plain_state_dict_loads_into_a_named_variant(tmp_path):
    torch.manual_seed(0)
    model = build_model("2G").eval()
    torch.save(model.state_dict(), tmp_path / "plain.pth")
    loaded = load_weights(tmp_path / "plain.pth", "2G")
    with torch.no_grad():
        torch.testing.assert_close(loaded(_clip()), model(_clip()), atol=0, rtol=0)
    # trainer layout {"state_dict": ..., "epoch": ...}
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, tmp_path / "trainer.pth")
    assert load_weights(tmp_path / "trainer.pth", "2G").num_classes == 400


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_file_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"this is not a zip or a pickle")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(path)
    torch.save({"hello": "world"}, tmp_path / "dict.pt")
    with pytest.raises(CheckpointError, match="neither a vmf checkpoint nor a state dict"):
        load_checkpoint(tmp_path / "dict.pt")


def test_loading_never_executes_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"state_dict": Evil()}, path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_other_variants_weights(tmp_path):
    save_checkpoint(build_model("5G"), tmp_path / "5g.pt")
    with pytest.raises(CheckpointError, match="VMF-5G weights, not VMF-2G"):
        load_weights(tmp_path / "5g.pt", "2G")
    torch.save(build_model("5G").state_dict(), tmp_path / "5g_plain.pth")
    with pytest.raises(CheckpointError, match="does not fit VMF-1G.*fit VMF-5G"):
        load_weights(tmp_path / "5g_plain.pth", "1G")
    torch.save(build_model("1G", baseline=True).state_dict(), tmp_path / "m3d.pth")
    with pytest.raises(CheckpointError, match="does not fit VMF-1G.*fit .*Mobile3D-1G"):
        load_weights(tmp_path / "m3d.pth", "1G", baseline=False)


def test_plain_state_dict_needs_a_variant(tmp_path):
    torch.save(build_model("1G").state_dict(), tmp_path / "plain.pth")
    with pytest.raises(CheckpointError, match="variant"):
        load_checkpoint(tmp_path / "plain.pth")


def test_missing_and_unexpected_keys(tmp_path):
    state = build_model("1G").state_dict()
    missing = dict(state)
    missing.pop("stem.conv_xy.weight")
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match="1 missing.*stem.conv_xy.weight"):
        load_weights(tmp_path / "missing.pth", "1G")
    extra = dict(state, **{"head.extra.weight": torch.zeros(3)})
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(CheckpointError, match="1 unexpected.*head.extra.weight"):
        load_weights(tmp_path / "extra.pth", "1G")
