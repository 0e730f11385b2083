"""The web target: one registry record and its writer step, a static site written atomically.

The runtime files come from a fake ``onnxruntime-web`` dist folder built here (named
after the page's ``ort-files.json``, a ``package.json`` at the pinned version), and a
fake ``npm`` for the cache, so nothing needs npm or the network. The site is checked
from the outside: the files it holds, the card against the schema (tests/conftest.py),
the parity clip re-run through ONNX Runtime, the model against ``--target onnx``'s.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest

from vmf.contract import targets as registry
from vmf.contract import web_layout as site
from vmf.contract.card import read_sidecar
from vmf.export import export, web
from vmf.export.cli import build_parser, main
from vmf.export.metadata import read_embedded
from vmf.export.parity import PARITY_CLIPS, structured_clips
from vmf.model import VmfError
from vmf.model.ort_session import ort_session

# several real exports (fp32 and int8 sites, a wheel build): the full suite, not the fast loop
pytestmark = pytest.mark.integration

FRAMES, RES = 8, 32
PINNED = "1.23.4"  # the fake page's pin, unrelated to web_demo's real one
ORT_FILES = {
    "wasm": ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"],
    "webgpu": [
        "ort.webgpu.min.mjs",
        "ort-wasm-simd-threaded.asyncify.mjs",
        "ort-wasm-simd-threaded.asyncify.wasm",
    ],
}
UNLISTED = "ort.all.min.mjs"  # in every dist, shipped by no provider
REAL_PAGE = Path(__file__).resolve().parents[2] / "web_demo"


def make_page(folder: Path, version: str = PINNED, lock_integrity: str | None = None) -> Path:
    (folder / "app" / "core").mkdir(parents=True)
    (folder / "index.html").write_text('<!doctype html><script type="module" src="app/main.js"></script>\n')
    (folder / "app" / "main.js").write_text("import './core/card.js';\n")
    (folder / "app" / "core" / "card.js").write_text("export const card = 1;\n")
    (folder / "package.json").write_text(json.dumps({"dependencies": {"onnxruntime-web": version}}))
    (folder / "ort-files.json").write_text(json.dumps(ORT_FILES))
    if lock_integrity is not None:
        entry = {"version": version, "integrity": lock_integrity}
        (folder / "package-lock.json").write_text(
            json.dumps({"packages": {"node_modules/onnxruntime-web": entry}})
        )
    return folder


def dist_files(names=None, version: str = PINNED) -> dict[str, bytes]:
    names = names or [n for files in ORT_FILES.values() for n in files] + [UNLISTED]
    return {name: f"{name} of onnxruntime-web {version}\n".encode() for name in names}


def make_dist(folder: Path, version: str = PINNED, names=None) -> Path:
    """A dist folder with its package.json inside (what a test can hand --ort-web)."""
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": "onnxruntime-web", "version": version}))
    for name, data in dist_files(names, version).items():
        (folder / name).write_bytes(data)
    return folder


def relative_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def run(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def error_line(err: str) -> str:
    """The one ``error:`` line, last, with no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert "Traceback" not in err and len(errors) == 1 and lines[-1] == errors[0], err
    return errors[0]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One export of fp32 and int8 through the fake page and dist."""
    root = tmp_path_factory.mktemp("web")
    page, dist = make_page(root / "page"), make_dist(root / "dist")
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(web, "page_folder", lambda: page)
        report = export(
            "560M",
            ("web",),
            ("fp32", "int8"),
            frames=FRAMES,
            resolution=RES,
            out_dir=root / "out",
            ort_web=dist,
            log=lines.append,
            warn=lines.append,
        )
    fp32, int8 = report.artifacts
    return SimpleNamespace(root=root, page=page, dist=dist, report=report, fp32=fp32, int8=int8, lines=lines)


@pytest.fixture
def fake_page(tmp_path, monkeypatch):
    page = make_page(tmp_path / "page")
    monkeypatch.setattr(web, "page_folder", lambda: page)
    return page


# -- the record -------------------------------------------------------------------------------
def test_the_record_is_planned_and_offered_by_vmf_export(capsys):
    record = registry.get("web")
    assert record.writer == "vmf.export.web:export_web" and record.card_in == "web-site"
    assert site.TARGET == record.name and registry.by_suffix(".web") is record
    assert registry.plan("web", None, None, "deployable", None) == [registry.Job("web", ("fp32",), "wasm")]
    assert registry.plan("web", ("fp32", "int8"), None, "deployable", None, "all") == [
        registry.Job("web", ("fp32", "int8"), "all")
    ]
    assert "web" not in registry.all_names()  # it needs the ONNX Runtime Web files
    assert registry.timed_by("onnxruntime").name == "onnx"  # vmf-bench does not time a site
    with pytest.raises(VmfError, match="--target web does not support --precision fp16"):
        registry.plan("web", ("fp16",), None, "deployable", None)
    with pytest.raises(VmfError, match="--target web takes --delegate wasm, webgpu or all, not xnnpack"):
        registry.plan("web", None, None, "deployable", None, "xnnpack")
    with pytest.raises(VmfError, match="--target executorch takes --delegate xnnpack or coreml, not webgpu"):
        registry.plan("executorch", None, None, "deployable", None, "webgpu")
    build_parser().print_help()
    text = " ".join(capsys.readouterr().out.split())
    assert "web = a static web site" in text and "--ort-web DIR" in text
    assert "{xnnpack,coreml,wasm,webgpu,all}" in text and "wasm for web" in text
    assert build_parser().parse_args(["--target", "web", "--delegate", "webgpu"]).delegate == "webgpu"


# -- the site ---------------------------------------------------------------------------------
def test_the_site_holds_exactly_the_agreed_layout(made):
    fp32 = made.fp32.path
    assert fp32 == made.root / "out" / "web" / f"vmf-560m_t{FRAMES}_r{RES}_fp32.web" and fp32.is_dir()
    assert relative_files(fp32) == {
        "index.html",
        "app/main.js",
        "app/core/card.js",
        *(f"ort/{name}" for name in ORT_FILES["wasm"]),  # the default provider's files only
        "model/model.onnx",
        "model/card.json",
        "model/parity.bin",
        "model/parity.json",
        "_headers",
    }
    for name in ("index.html", "app/main.js", "app/core/card.js"):  # the page as it is
        assert (fp32 / name).read_bytes() == (made.page / name).read_bytes()
    for name in ORT_FILES["wasm"]:
        assert (fp32 / "ort" / name).read_bytes() == (made.dist / name).read_bytes()
    # beside each folder its card, as for every target; nothing else, no scratch left
    out = sorted(p.name for p in (made.root / "out").rglob("*") if p.parent.name == "web")
    assert out == sorted(
        f"vmf-560m_t{FRAMES}_r{RES}_{p}{s}" for p in ("fp32", "int8") for s in (".json", ".web")
    )
    assert not [p for p in (made.root / "out").rglob(".*")]
    assert any("gzipped" in line for line in made.lines)


def test_the_card_says_web_the_pinned_runtime_and_its_providers(made):
    for artifact, precision in ((made.fp32, "fp32"), (made.int8, "int8")):
        card = json.loads((artifact.path / site.CARD_FILE).read_text())
        assert card == read_sidecar(artifact.path) == read_embedded(artifact.path)
        assert card == site.read_site_card(artifact.path)  # what vmf-serve checks
        props = {p.key: p.value for p in onnx.load(str(artifact.path / site.MODEL_FILE)).metadata_props}
        assert json.loads(props["vmf"]) == card  # the model file carries it too
        assert card["target"] == "web" and card["precision"] == precision
        assert card["versions"]["onnxruntime-web"] == PINNED and card["providers"] == ["wasm"]
        assert card["input_shape"] == [FRAMES, 3, RES, RES] and card["parity"]["passed"]
    assert made.fp32.parity["threshold"] == registry.get("web").tolerances["fp32"]
    assert made.int8.parity["metric"] == "cosine_median"
    assert read_sidecar(made.int8.path)["converter"] == "torch.onnx+onnxruntime.quantization"


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_parity_files_are_what_onnx_runtime_gives_on_the_exporters_clip(made, precision):
    folder = getattr(made, precision).path
    parity = json.loads((folder / site.PARITY_FILE).read_text())
    card = read_sidecar(folder)
    assert parity["shape"] == card["input_shape"] and parity["layout"] == card["input_layout"]
    assert parity["metric"] == "max_rel_err"
    assert parity["tolerance"] == (1e-4 if precision == "fp32" else web.INT8_PAGE_TOLERANCE)
    clip = np.fromfile(folder / site.PARITY_CLIP, dtype="<f4").reshape(parity["shape"])
    # the exporter's own first parity clip, byte for byte
    np.testing.assert_array_equal(clip, structured_clips(PARITY_CLIPS, FRAMES, RES, seed=0)[0])
    session = ort_session(folder / site.MODEL_FILE, threads=1)
    logits = session.run(None, {card["input_name"]: clip})[0].reshape(-1)
    expected = np.asarray(parity["logits"], np.float32)
    assert expected.shape == (len(card["labels"]),) and np.abs(expected).max() > 0
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-6 * np.abs(expected).max())


def test_the_model_is_the_onnx_targets_server_form(made, tmp_path):
    (onnx_fp32,) = export(
        "560M",
        ("onnx",),
        frames=FRAMES,
        resolution=RES,
        out_dir=tmp_path,
        log=lambda m: None,
        warn=lambda m: None,
    ).artifacts
    ours = onnx.load(str(made.fp32.path / site.MODEL_FILE))
    theirs = onnx.load(str(onnx_fp32.path))
    assert ours.graph.SerializeToString() == theirs.graph.SerializeToString()
    assert ours.opset_import == theirs.opset_import


def test_headers_isolate_the_site_for_static_hosts(made):
    rules: dict[str, dict[str, str]] = {}
    path = None
    for line in (made.fp32.path / site.HEADERS_FILE).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            path = line.strip()
            rules[path] = {}
        else:
            name, value = line.strip().split(": ", 1)
            rules[path][name] = value
    assert rules["/*"] == {
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Embedder-Policy": "require-corp",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    assert rules["/*.wasm"] == {"Content-Type": "application/wasm"}
    assert rules["/*.mjs"] == {"Content-Type": "text/javascript"}


def test_the_onnxruntime_backend_runs_a_web_export(made):
    from vmf.runtime.backends import backend_for, load_backend

    folder = made.fp32.path
    assert backend_for(folder) == "onnxruntime"
    backend = load_backend(folder, threads=1)
    parity = json.loads((folder / site.PARITY_FILE).read_text())
    clip = np.fromfile(folder / site.PARITY_CLIP, dtype="<f4").reshape(parity["shape"])
    np.testing.assert_allclose(backend.run(clip), parity["logits"], rtol=0, atol=1e-6)


def test_a_copied_site_and_its_model_file_run_with_the_card_the_page_reads(made, tmp_path):
    """A site copied away from its export folder has no card beside it: the backend reads
    model/card.json, given the folder or its model/model.onnx."""
    import shutil

    from vmf.runtime.backends import load_backend

    copy = tmp_path / "deployed"
    shutil.copytree(made.fp32.path, copy)
    parity = json.loads((copy / site.PARITY_FILE).read_text())
    clip = np.fromfile(copy / site.PARITY_CLIP, dtype="<f4").reshape(parity["shape"])
    for path in (copy, copy / site.MODEL_FILE):
        backend = load_backend(path, threads=1)
        assert backend.meta["target"] == "web"
        np.testing.assert_allclose(backend.run(clip), parity["logits"], rtol=0, atol=1e-6)


def test_delegate_all_ships_both_providers_through_the_real_page(tmp_path, capsys):
    """The page W1 wrote (web_demo/), with a fake dist at its pinned version."""
    pinned = web.pinned_version(REAL_PAGE)
    listed = json.loads((REAL_PAGE / "ort-files.json").read_text())
    names = list(dict.fromkeys(n for files in listed.values() for n in files)) + [UNLISTED]
    dist = make_dist(tmp_path / "dist", pinned, names)
    argv = ["--variant", "560M", "--target", "web", "--delegate", "all", "--frames", str(FRAMES)]
    code, err = run(
        capsys, *argv, "--resolution", str(RES), "--out", str(tmp_path / "out"), "--ort-web", str(dist)
    )
    assert code == 0, err
    folder = tmp_path / "out" / "web" / f"vmf-560m_t{FRAMES}_r{RES}_fp32_all.web"
    card = read_sidecar(folder)
    assert card["providers"] == ["wasm", "webgpu"] and card["versions"]["onnxruntime-web"] == pinned
    assert {p.name for p in (folder / "ort").iterdir()} == set(names) - {UNLISTED}
    assert (folder / "index.html").read_bytes() == (REAL_PAGE / "index.html").read_bytes()
    page_app = {f"app/{n}" for n in relative_files(REAL_PAGE / "app")}
    assert page_app and page_app <= relative_files(folder)


# -- one line and nothing written -------------------------------------------------------------
def test_no_runtime_files_anywhere_is_one_line_and_no_folder(fake_page, tmp_path, monkeypatch, capsys):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no npm
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "out"
    code, err = run(
        capsys,
        "--variant",
        "560M",
        "--target",
        "web",
        "--frames",
        "8",
        "--resolution",
        "32",
        "--out",
        str(out),
    )
    assert code == 1
    line = error_line(err)
    assert (
        "no ONNX Runtime Web 1.23.4 files" in line and "--ort-web" in line and "npm is not installed" in line
    )
    assert not (out / "web").exists() and not [p for p in out.rglob("*") if p.suffix != ".log"]


@pytest.mark.parametrize(
    "dist_version, names, expected",
    [
        ("1.0.0", None, "holds onnxruntime-web 1.0.0, but web_demo/package.json pins 1.23.4"),
        (PINNED, ORT_FILES["webgpu"], "lacks ort.wasm.min.mjs, which web_demo/ort-files.json lists for wasm"),
    ],
)
def test_a_wrong_ort_web_folder_is_one_line(fake_page, tmp_path, capsys, dist_version, names, expected):
    dist = make_dist(tmp_path / "dist", dist_version, names)
    out = tmp_path / "out"
    argv = ["--variant", "560M", "--target", "web", "--frames", "8", "--resolution", "32"]
    code, err = run(capsys, *argv, "--out", str(out), "--ort-web", str(dist))
    assert code == 1 and expected in error_line(err)
    assert not (out / "web").exists()


def test_ctrl_c_while_writing_leaves_nothing_and_a_new_export_replaces_the_old(
    fake_page, tmp_path, monkeypatch
):
    dist, out = make_dist(tmp_path / "dist"), tmp_path / "out"
    quiet = {"log": lambda m: None, "warn": lambda m: None}
    (first,) = export(
        "560M", ("web",), frames=FRAMES, resolution=RES, out_dir=out, ort_web=dist, **quiet
    ).artifacts
    (first.path / "stale.txt").write_text("from an older export")
    before = relative_files(out)
    real = web._write_parity

    def interrupted(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C with the new site half-built

    monkeypatch.setattr(web, "_write_parity", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export("560M", ("web",), frames=FRAMES, resolution=RES, out_dir=out, ort_web=dist, **quiet)
    assert relative_files(out) == before  # the old site untouched, no scratch folder
    assert not [p for p in out.rglob(".*")]
    monkeypatch.setattr(web, "_write_parity", real)
    export("560M", ("web",), frames=FRAMES, resolution=RES, out_dir=out, ort_web=dist, **quiet)
    assert "stale.txt" not in relative_files(first.path)  # the folder was replaced whole
    assert read_sidecar(first.path)["target"] == "web"


# -- where the runtime files come from ----------------------------------------------------------
def test_node_modules_is_used_when_present_and_must_be_the_pinned_version(tmp_path):
    page = make_page(tmp_path / "page")
    package = page / "node_modules" / "onnxruntime-web"
    make_dist(package / "dist", PINNED)
    (package / "dist" / "package.json").unlink()  # a real package: package.json above dist/
    (package / "package.json").write_text(json.dumps({"name": "onnxruntime-web", "version": PINNED}))
    found = web.runtime_files(None, page, "wasm", log=lambda m: None)
    assert found.dist == package / "dist" and found.version == PINNED
    (package / "package.json").write_text(json.dumps({"name": "onnxruntime-web", "version": "1.0.0"}))
    with pytest.raises(
        VmfError, match=r"holds onnxruntime-web 1.0.0, .* pins 1.23.4 \(run npm ci in web_demo\)"
    ):
        web.runtime_files(None, page, "wasm", log=lambda m: None)


FAKE_NPM = """#!{python}
import io, json, pathlib, sys, tarfile
log = pathlib.Path({log!r})
log.write_text(log.read_text() + " ".join(sys.argv[1:]) + "\\n" if log.exists() else " ".join(sys.argv[1:]) + "\\n")
if {fail!r}:
    sys.stderr.write("npm error code ENOTFOUND\\nnpm error network request failed\\n")
    sys.exit(1)
name, version = sys.argv[2].rsplit("@", 1)
dest = pathlib.Path(sys.argv[sys.argv.index("--pack-destination") + 1])
files = json.loads({files!r})
files["package.json"] = json.dumps({{"name": name, "version": version}})
with tarfile.open(dest / f"{{name}}-{{version}}.tgz", "w:gz") as tar:
    for member, text in files.items():
        data = text.encode()
        info = tarfile.TarInfo("package/" + member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
print(f"{{name}}-{{version}}.tgz")
"""


def fake_npm(tmp_path: Path, fail: bool = False) -> Path:
    """``npm`` on PATH that packs a fake onnxruntime-web (or fails as offline npm does); its calls logged."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    files = {f"dist/{name}": data.decode() for name, data in dist_files().items()}
    npm = bin_dir / "npm"
    log = tmp_path / "npm-calls.txt"
    npm.write_text(FAKE_NPM.format(python=sys.executable, log=str(log), fail=fail, files=json.dumps(files)))
    npm.chmod(0o755)
    return log


def test_npm_fills_the_cache_once_under_xdg_cache_home(tmp_path, monkeypatch):
    page = make_page(tmp_path / "page")
    calls = fake_npm(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache = tmp_path / "cache" / "vmf" / "onnxruntime-web" / PINNED
    assert web.cache_folder(PINNED) == cache
    found = web.runtime_files(None, page, "wasm", log=lambda m: None)
    assert found.dist == cache / "dist" and calls.read_text().split()[:2] == [
        "pack",
        f"onnxruntime-web@{PINNED}",
    ]
    assert (cache / "dist" / "ort-wasm-simd-threaded.wasm").read_bytes() == dist_files()[
        "ort-wasm-simd-threaded.wasm"
    ]
    assert sorted(p.name for p in cache.parent.iterdir()) == [PINNED]  # no scratch left beside it
    web.runtime_files(None, page, "wasm", log=lambda m: None)
    assert len(calls.read_text().splitlines()) == 1  # the second export reads the cache
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert web.cache_folder("9.9.9") == tmp_path / "home" / ".cache" / "vmf" / "onnxruntime-web" / "9.9.9"


def test_npm_failing_or_a_tarball_the_lock_does_not_know_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fake_npm(tmp_path, fail=True)
    page = make_page(tmp_path / "page")
    with pytest.raises(
        VmfError, match=r"no ONNX Runtime Web 1.23.4 files: .*\(npm pack failed: code ENOTFOUND\)$"
    ):
        web.runtime_files(None, page, "wasm", log=lambda m: None)
    fake_npm(tmp_path, fail=False)
    other = "sha512-" + base64.b64encode(hashlib.sha512(b"another tarball").digest()).decode()
    locked = make_page(tmp_path / "locked", lock_integrity=other)
    with pytest.raises(VmfError, match="does not match web_demo/package-lock.json's integrity"):
        web.runtime_files(None, locked, "wasm", log=lambda m: None)
    cache_root = tmp_path / "cache" / "vmf" / "onnxruntime-web"
    assert list(cache_root.iterdir()) == []  # neither left a cache folder or scratch behind


def test_a_tarball_entry_outside_the_package_is_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar, pytest.raises(VmfError, match="unexpected entry"):
        web._extract(tar, tmp_path / "dest")
    assert not (tmp_path / "escaped.txt").exists()


def test_the_page_must_pin_one_version_and_list_each_provider(tmp_path):
    page = make_page(tmp_path / "page", version="^1.23.4")
    with pytest.raises(VmfError, match=r"must pin onnxruntime-web to one version, not '\^1.23.4'"):
        web.pinned_version(page)
    (page / "ort-files.json").write_text(json.dumps({"wasm": ["ort.wasm.min.mjs"]}))
    assert web.provider_files(page, "wasm") == (("wasm",), ("ort.wasm.min.mjs",))
    with pytest.raises(VmfError, match="lists no files for the webgpu provider"):
        web.provider_files(page, "all")
    (page / "index.html").unlink()
    with pytest.raises(VmfError, match="the web page lacks index.html"):
        web.check_page(page)


def test_the_page_ships_with_vmf_as_package_data(tmp_path):
    """A wheel built from the sources holds web_demo/ beside vmf/export (where page_folder looks)."""
    root = REAL_PAGE.parent
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        (src / name).write_bytes((root / name).read_bytes())
    skip = ("__pycache__", "node_modules", "*.pt", "*.pt2")
    for folder in ("contract", "model", "export", "runtime", "benchmarks", "train"):
        shutil.copytree(root / folder, src / folder, ignore=shutil.ignore_patterns(*skip))
    make_page(src / "web_demo")
    (src / "web_demo" / "node_modules" / "onnxruntime-web").mkdir(parents=True)
    (src / "web_demo" / "node_modules" / "onnxruntime-web" / "big.wasm").write_bytes(b"\0" * 10)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_NO_INDEX": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("vmf-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    page = {n.removeprefix("vmf/web_demo/") for n in names if n.startswith("vmf/web_demo/")}
    assert page == {"index.html", "app/main.js", "app/core/card.js", "package.json", "ort-files.json"}
    assert "vmf/export/web.py" in names  # page_folder(): ../web_demo from here
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "vmf-serve = vmf.runtime.serve:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
