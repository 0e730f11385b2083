"""Stem reuse across hops equals full recomputation; split artifacts are checked and refused when mixed."""

import dataclasses
import shutil

import numpy as np
import pytest
import torch

from vmf.contract.card import read_sidecar
from vmf.export.split import add_split, build_halves, compose, split_parity
from vmf.model import VARIANTS, VmfError, build_model
from vmf.runtime.backends import load_backend
from vmf.runtime.classifier import Classifier
from vmf.runtime.stem_reuse import StemReuse, open_stem_reuse


pytestmark = pytest.mark.integration  # split exports streamed end to end


RES = 24


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny convolutions: a second intra-op thread only spins against the rest of the suite."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tiny(variant: str, frames: int, seed: int = 0):
    cfg = dataclasses.replace(VARIANTS[variant], frames=frames, resolution=RES)
    torch.manual_seed(seed)
    return build_model(cfg, num_classes=5).eval()


def _torch_fn(module):
    def run(x):
        with torch.no_grad():
            return module(torch.from_numpy(np.ascontiguousarray(x))).numpy()

    return run


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_stem_reuse_equals_full_recomputation_over_many_hops(variant):
    stride = VARIANTS[variant].temporal_stride
    frames = 4 * stride  # T' = 4 stem output frames: one of them padded for k_t = 5, p = 2
    model = _tiny(variant, frames)
    stem, body, geometry = build_halves(model, frames, RES)
    stem_fn, body_fn = _torch_fn(stem), _torch_fn(body)
    video = np.random.default_rng(1).standard_normal((frames + 6 * stride, 3, RES, RES)).astype(np.float32)
    for hop in (stride, 3):  # multiples of s_t reuse; any other hop recomputes, still exact
        reuse = StemReuse(
            stem_fn,
            body_fn,
            frames=frames,
            kernel=geometry["temporal_kernel"],
            stride=stride,
            padding=geometry["temporal_padding"],
            features_shape=geometry["features_shape"],
        )
        starts = list(range(0, video.shape[0] - frames + 1, hop))
        assert len(starts) >= 4
        for start in starts:
            clip = video[start : start + frames]
            got = reuse.run(clip, start)
            full = compose(stem_fn, body_fn, clip, geometry)
            with torch.no_grad():
                reference = model(torch.from_numpy(clip).permute(1, 0, 2, 3)[None]).numpy()
            scale = np.abs(reference).max()
            assert np.abs(got - full).max() <= 1e-5 * scale
            assert np.abs(got - reference).max() <= 1e-4 * scale
        out = geometry["output_frames"]
        padded = int(geometry["temporal_padding"] > 0)
        if hop % stride == 0:  # each later clip computes only its new frames (+ its padded first one)
            new = hop // stride
            assert reuse.computed == out + (len(starts) - 1) * (new + padded)
            assert reuse.reused == (len(starts) - 1) * (out - new - padded)
        else:
            assert reuse.reused <= (len(starts) - 1) * (out - 1)


def test_reset_forgets_the_kept_stem_frames():
    model = _tiny("560M", 16)
    stem, body, g = build_halves(model, 16, RES)
    reuse = StemReuse(
        _torch_fn(stem),
        _torch_fn(body),
        frames=16,
        kernel=8,
        stride=8,
        padding=0,
        features_shape=g["features_shape"],
    )
    video = np.random.default_rng(2).standard_normal((24, 3, RES, RES)).astype(np.float32)
    reuse.run(video[:16], 0)
    reuse.reset()  # a new source: frame 8 of the new numbering is another frame
    got = reuse.run(video[8:24], 0)
    assert reuse.reused == 0
    np.testing.assert_allclose(
        got, compose(_torch_fn(stem), _torch_fn(body), video[8:24], g), rtol=0, atol=1e-5 * np.abs(got).max()
    )


@pytest.fixture(scope="module")
def split_exports(tmp_path_factory):
    """A tiny VMF-560M (16 frames: T' = 2) exported to ONNX with split halves, and a copy of that
    export whose halves were made from other weights (its card's weights hash removed)."""
    import warnings

    from vmf.export.sidecar import write_sidecar
    from vmf.runtime.backend_torch import checkpoint_meta

    from runtime_fixtures import _TCHW

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("split")
    model, other = _tiny("560M", 16), _tiny("560M", 16, seed=1)
    paths = {}
    for name, weights in (("a", model), ("b", other)):
        target = folder / name / "tiny.onnx"
        target.parent.mkdir()
        meta = checkpoint_meta(model, None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _TCHW(weights).eval(),
                (torch.zeros(16, 3, RES, RES),),
                str(target),
                dynamo=False,
                opset_version=17,
                input_names=[meta["input_name"]],
                output_names=[meta["output"]],
            )
        write_sidecar(target, meta)
        add_split(target, weights, log=lambda *_: None)
        paths[name] = target
    paths["model"], paths["other"] = model, other
    torch.set_num_threads(threads)
    return paths


def test_split_card_describes_both_halves_and_passes_the_gate(split_exports):
    meta = read_sidecar(split_exports["a"])
    split = meta["split"]
    assert split["parity"]["passed"] and split["parity"]["max_rel_err"] <= 1e-4
    assert split["parity"]["artifact_max_rel_err"] <= 1e-4  # and reproduces the full artifact
    assert split["stem"]["input_shape"] == [8, 3, RES, RES]  # k_t = 8 frames of 560M
    assert split["body"]["input_shape"][0] == split["output_frames"] == 2
    assert (split_exports["a"].parent / split["stem"]["file"]).is_file()


def test_parity_gate_fails_when_the_halves_do_not_belong_together(split_exports):
    a, b = read_sidecar(split_exports["a"])["split"], read_sidecar(split_exports["b"])["split"]
    folder_a, folder_b = split_exports["a"].parent, split_exports["b"].parent
    model = split_exports["model"]
    geometry = {k: a[k] for k in ("temporal_kernel", "temporal_stride", "temporal_padding")}
    own = split_parity(folder_a / a["stem"]["file"], folder_a / a["body"]["file"], model, 16, RES, geometry)
    mixed = split_parity(folder_a / a["stem"]["file"], folder_b / b["body"]["file"], model, 16, RES, geometry)
    assert own["passed"] and not mixed["passed"]


def test_runtime_uses_the_split_automatically_and_matches_the_full_model(split_exports):
    path = split_exports["a"]
    backend = load_backend(path, threads=1)
    with_split = Classifier(backend, hop=8)
    without = Classifier(load_backend(path, threads=1), hop=8, stem_reuse=False)
    assert with_split.stem_reuse is not None and without.stem_reuse is None
    rng = np.random.default_rng(3)
    got = []
    for k in range(40):
        frame = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
        p, q = with_split.push(frame, k / 25), without.push(frame, k / 25)
        assert (p is None) == (q is None)
        if p is not None:
            got.append(p)
            np.testing.assert_allclose(p.probabilities, q.probabilities, atol=1e-5)
    assert len(got) == 4  # frames 15, 23, 31, 39
    assert with_split.stem_reuse.reused == 3  # each later clip reused its older stem frame


def _broken_copy(split_exports, tmp_path, mutate):
    folder = tmp_path / "broken"
    shutil.copytree(split_exports["a"].parent, folder)
    mutate(folder, read_sidecar(folder / "tiny.onnx")["split"])
    return folder / "tiny.onnx"


def test_a_missing_half_is_one_clear_error(split_exports, tmp_path):
    path = _broken_copy(split_exports, tmp_path, lambda f, s: (f / s["body"]["file"]).unlink())
    with pytest.raises(VmfError, match="body half .* is missing"):
        open_stem_reuse(load_backend(path, threads=1))


def test_halves_from_another_export_are_refused(split_exports, tmp_path, capsys):
    other = split_exports["b"].parent

    def swap(folder, split):
        shutil.copy(
            other / read_sidecar(split_exports["b"])["split"]["body"]["file"], folder / split["body"]["file"]
        )

    path = _broken_copy(split_exports, tmp_path, swap)
    with pytest.raises(VmfError, match="different exports"):
        open_stem_reuse(load_backend(path, threads=1))
    from vmf.runtime.cli import main

    assert main(["--model", str(path), "--source", "0", "--threads", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different exports" in err[0]


def test_a_split_from_other_weights_is_refused(split_exports, tmp_path):
    folder = tmp_path / "c"
    shutil.copytree(split_exports["a"].parent, folder)
    with pytest.raises(VmfError, match="do not reproduce tiny.onnx"):
        add_split(folder / "tiny.onnx", split_exports["other"], log=lambda *_: None)
    assert read_sidecar(folder / "tiny.onnx")["split"] == read_sidecar(split_exports["a"])["split"]


def test_vmf_export_split_writes_both_halves_the_runtime_picks_up(tmp_path, capsys):
    from vmf.export.cli import main

    code = main(
        [
            "--variant",
            "560M",
            "--target",
            "onnx",
            "--split",
            "--frames",
            "16",
            "--resolution",
            str(RES),
            "--num-classes",
            "5",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0, capsys.readouterr().err
    artifact = tmp_path / "onnx" / f"vmf-560m_t16_r{RES}_fp32.onnx"
    split = read_sidecar(artifact)["split"]
    assert split["parity"]["passed"] and split["temporal_kernel"] == 8
    reuse = open_stem_reuse(load_backend(artifact, threads=1))
    assert reuse is not None and reuse.out_frames == 2
    # a usage error (exit 2), said before any work
    assert main(["--variant", "560M", "--target", "coreml", "--split", "--out", str(tmp_path / "t")]) == 2
    assert "--split writes stem + body halves" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
