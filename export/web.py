"""Web target: a static site that classifies the camera in a browser with ONNX Runtime Web.

The site (``vmf.contract.web_layout``; docs/web.md) is the page from ``web_demo/``
(``index.html``, ``app/``) as it is, the ONNX Runtime Web files the chosen
execution providers need (``web_demo/ort-files.json`` lists them per provider;
``--delegate wasm``, ``webgpu`` or ``all``), the onnx target's server form
(``model/model.onnx``: the same graph, fp32 or its int8 QDQ copy) with its card, the
exporter's parity clip and the logits ONNX Runtime gives for it (the page's own
parity check), and ``_headers`` for static hosts. Parity at export is the onnx
target's: the ONNX through ONNX Runtime against PyTorch.

The runtime files are those of the ``onnxruntime-web`` version
``web_demo/package.json`` pins, taken from (in order) ``--ort-web DIR``,
``web_demo/node_modules``, or a cache (``$XDG_CACHE_HOME/vmf/onnxruntime-web/<version>``)
that ``npm pack`` fills once; never a CDN at run time. The whole folder is built
under a scratch name and renamed into place (``steps.run_step``), so a failure or
Ctrl-C leaves nothing half-written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from vmf.contract import web_layout as site
from vmf.contract.card import INPUT_NAME
from vmf.contract.targets import get as get_target
from vmf.contract.targets import listed
from vmf.model import VmfError
from vmf.model.files import normalise_mode, replace

if TYPE_CHECKING:
    from vmf.contract.targets import Job

    from .session import ExportSession
    from .steps import Artifact

PACKAGE = "onnxruntime-web"
ORT_FILES = "ort-files.json"  # {"<provider>": [dist files it needs], ...}, beside package.json
ALL = "all"  # --delegate all: every provider the record names
NPM_TIMEOUT_S = 600
# parity.json's tolerance for int8, relative to max |logit| like the fp32 gate (which uses
# the target's own, Target.tolerances). The integer convolutions are exact, but a float op
# before a QuantizeLinear that rounds differently (another kernel, WebGPU's float path)
# can move an activation by a whole quantisation step. Measured: the demo model's int8
# site in Chromium's WASM (1 and 2 threads) agrees with ONNX Runtime here to 1.5e-7.
INT8_PAGE_TOLERANCE = 1e-2
_VERSION = re.compile(r"\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?")


def page_folder() -> Path:
    """``web_demo/``: beside the packages in the source tree, ``vmf/web_demo`` when installed."""
    return Path(__file__).resolve().parent.parent / "web_demo"


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VmfError(f"{what} {path} is not readable JSON ({exc})") from None


def check_page(page: Path) -> None:
    """The page files the site is made of are there; one line naming the first missing one."""
    for name in (site.INDEX, site.APP_DIR, "package.json", ORT_FILES):
        if not (page / name).exists():
            raise VmfError(
                f"the web page lacks {name} in {page}: the web target needs web_demo/ from the vmf "
                "source tree (or a vmf installed from it)"
            )


def pinned_version(page: Path) -> str:
    """The ``onnxruntime-web`` version ``web_demo/package.json`` pins (one exact version)."""
    manifest = _read_json(page / "package.json", "the page's")
    version = (manifest.get("dependencies") or {}).get(PACKAGE)
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise VmfError(f"{page / 'package.json'} must pin {PACKAGE} to one version, not {version!r}")
    return version


def provider_files(page: Path, delegate: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(providers shipped, the dist files they need, in order, each once) for ``--delegate``."""
    record = get_target(site.TARGET)
    providers = tuple(c for c in record.converters if c != ALL) if delegate == ALL else (delegate,)
    table = _read_json(page / ORT_FILES, "the page's")
    files: dict[str, None] = {}
    for provider in providers:
        names = table.get(provider) if isinstance(table, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise VmfError(f"{page / ORT_FILES} lists no files for the {provider} provider")
        for name in names:
            parts = Path(name).parts
            if Path(name).is_absolute() or ".." in parts or not parts:
                raise VmfError(f"{page / ORT_FILES}: {name!r} is not a file name inside dist/")
            files[name] = None
    return providers, tuple(files)


@dataclass(frozen=True)
class RuntimeFiles:
    """Where the ONNX Runtime Web files a site ships come from."""

    version: str
    dist: Path
    where: str  # for messages: "--ort-web DIR", "web_demo/node_modules", "the cache DIR"
    providers: tuple[str, ...] = ()  # the execution providers shipped
    files: tuple[str, ...] = ()  # their files in dist/, checked to be there


def cache_folder(version: str) -> Path:
    """``$XDG_CACHE_HOME/vmf/onnxruntime-web/<version>`` (``~/.cache`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vmf" / PACKAGE / version


def _package(folder: Path, where: str, pinned: str, hint: str) -> RuntimeFiles:
    """The package (or its ``dist``) at ``folder``, at the pinned version; else one line."""
    if not folder.is_dir():
        raise VmfError(f"{where}: no such folder")
    dist = folder / "dist" if (folder / "dist").is_dir() else folder
    manifest = next(
        (m for m in (folder / "package.json", folder.parent / "package.json") if m.is_file()), None
    )
    if manifest is None:
        raise VmfError(f"{where} is not an {PACKAGE} package or dist folder (no package.json)")
    found = _read_json(manifest, "the package's")
    if not isinstance(found, dict) or found.get("name") != PACKAGE:
        raise VmfError(f"{where} is not an {PACKAGE} package ({manifest} names {found.get('name')!r})")
    if found.get("version") != pinned:
        raise VmfError(
            f"{where} holds {PACKAGE} {found.get('version')}, but web_demo/package.json pins {pinned}{hint}"
        )
    return RuntimeFiles(pinned, dist, where)


def runtime_files(ort_web, page: Path, delegate: str, log: Callable[[str], None]) -> RuntimeFiles:
    """The files ``--delegate`` needs at the pinned version, each checked to be there.

    From ``--ort-web``, else ``web_demo/node_modules``, else the cache (filled by npm once).
    """
    pinned = pinned_version(page)
    providers, files = provider_files(page, delegate)
    if ort_web is not None:
        folder = Path(ort_web)
        found = _package(folder, f"--ort-web {folder}", pinned, f" (npm pack {PACKAGE}@{pinned} fetches it)")
    elif (page / "node_modules" / PACKAGE).is_dir():
        local = page / "node_modules" / PACKAGE
        found = _package(local, str(local), pinned, " (run npm ci in web_demo)")
    else:
        cached = cache_folder(pinned)
        if not (cached / "package.json").is_file():
            _fetch(pinned, cached, page, log)
        found = _package(cached, f"the cache {cached}", pinned, f" (remove {cached})")
    for name in files:
        if not (found.dist / name).is_file():
            raise VmfError(
                f"{found.where} lacks {name}, which web_demo/{ORT_FILES} lists for "
                f"{listed(providers)} ({PACKAGE} {pinned})"
            )
    return RuntimeFiles(pinned, found.dist, found.where, providers, files)


def _lock_integrity(page: Path, version: str) -> str | None:
    """The ``sha512-...`` web_demo/package-lock.json records for the pinned package, if it does."""
    lock = page / "package-lock.json"
    if not lock.is_file():
        return None
    entry = (_read_json(lock, "the page's").get("packages") or {}).get(f"node_modules/{PACKAGE}") or {}
    return entry.get("integrity") if entry.get("version") == version else None


def _fetch(version: str, cached: Path, page: Path, log: Callable[[str], None]) -> None:
    """Fill ``cached`` with the package ``npm pack`` downloads (checked against the lock file)."""
    npm = shutil.which("npm")
    missing = (
        f"no ONNX Runtime Web {version} files: pass --ort-web DIR, run npm ci in web_demo, "
        f"or let npm fetch them into {cached}"
    )
    if npm is None:
        raise VmfError(f"{missing} (npm is not installed)")
    cached.parent.mkdir(parents=True, exist_ok=True)
    log(f"web: fetching {PACKAGE}@{version} with npm into {cached} ...")
    with tempfile.TemporaryDirectory(prefix=".vmf-npm-", dir=cached.parent) as tmp:
        tmp = Path(tmp)
        try:
            done = subprocess.run(
                [npm, "pack", f"{PACKAGE}@{version}", "--pack-destination", str(tmp)],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise VmfError(f"{missing} (npm pack took over {NPM_TIMEOUT_S} s)") from None
        tarballs = sorted(tmp.glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            said = [line.removeprefix("npm error").strip() for line in done.stderr.splitlines()]
            reason = next((line for line in said if line), f"exit status {done.returncode}")[:200]
            raise VmfError(f"{missing} (npm pack failed: {reason})")
        expected = _lock_integrity(page, version)
        if expected is not None:
            digest = hashlib.sha512(tarballs[0].read_bytes()).digest()
            if "sha512-" + base64.b64encode(digest).decode() != expected:
                raise VmfError(
                    f"npm pack {PACKAGE}@{version} does not match web_demo/package-lock.json's integrity"
                )
        unpacked = tmp / "unpacked"
        with tarfile.open(tarballs[0]) as archive:
            _extract(archive, unpacked)
        package = unpacked / "package"  # npm tarballs hold one folder, package/
        if not (package / "package.json").is_file():
            raise VmfError(f"npm pack {PACKAGE}@{version} gave a tarball without package/package.json")
        normalise_mode(package, directory=True)
        replace(package, cached)  # whole or not at all: a rename within the cache folder


def _extract(archive: tarfile.TarFile, dest: Path) -> None:
    """Extract regular files and folders only, each inside ``dest``."""
    if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+
        try:
            archive.extractall(dest, filter="data")
        except tarfile.FilterError as exc:
            raise VmfError(f"the {PACKAGE} tarball holds an unexpected entry ({exc})") from None
        return
    for member in archive.getmembers():
        target = (dest / member.name).resolve()
        if not (member.isfile() or member.isdir()) or dest.resolve() not in target.parents:
            raise VmfError(f"the {PACKAGE} tarball holds an unexpected entry {member.name!r}")
    archive.extractall(dest)


# -- writing the site ---------------------------------------------------------------------
def _copy_runtime(runtime: RuntimeFiles, folder: Path) -> None:
    for name in runtime.files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(runtime.dist / name, folder / name)


def _write_parity(folder: Path, clip, logits, layout: str, tolerance: float) -> None:
    """``parity.bin`` (the clip, float32 little-endian) and ``parity.json`` (what the page must get)."""
    import numpy as np

    (folder / site.PARITY_CLIP).write_bytes(np.ascontiguousarray(clip, dtype="<f4").tobytes())
    parity = {
        "shape": [int(d) for d in clip.shape],
        "layout": layout,
        "logits": [float(v) for v in np.asarray(logits, np.float32).reshape(-1)],
        "tolerance": tolerance,
        # max |page - logits| / max |logits|, the figure the export's own gate uses
        "metric": "max_rel_err",
    }
    (folder / site.PARITY_FILE).write_text(json.dumps(parity, indent=2) + "\n")


def gzipped_mb(paths) -> float:
    """What ``paths`` weigh gzipped (level 6, as static hosts compress), in MB."""
    total = 0
    for path in paths:
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: the gzip format
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                total += len(packer.compress(chunk))
        total += len(packer.flush())
    return total / 1e6


# -- the step vmf-export runs for --target web (registry: Target.writer) ------------------------
def export_web(s: "ExportSession", job: "Job") -> list["Artifact"]:
    """The site per precision: the page, the runtime files, the server-form ONNX and its parity."""
    from .onnx import onnx_predictor, server_form, torch2onnx
    from .parity import to_layout

    page = page_folder()
    check_page(page)
    runtime = runtime_files(s.options.ort_web, page, job.converter, s.log)  # before the model: fail fast
    s.log(f"web: {PACKAGE} {runtime.version} ({listed(runtime.providers)}) from {runtime.where}")
    record = get_target(job.target)
    fp32 = s.scratch / "web_fp32.onnx"  # exported once; int8 is a QDQ copy of it
    with s.timed("web: torch.onnx exported the graph"):
        torch2onnx(s.module(record.layout), s.example(record.layout), fp32)
    clip = to_layout(s.clips[0], record.layout)

    def build(tmp: Path, precision: str) -> dict:
        name = s.final_path(job.target, precision, job.converter).name
        model = tmp / site.MODEL_FILE
        model.parent.mkdir(parents=True)
        converter = server_form(s, fp32, model, precision)
        predict = onnx_predictor(model)
        parity = s.parity(predict, job.target, precision, name)
        shutil.copyfile(page / site.INDEX, tmp / site.INDEX)
        shutil.copytree(page / site.APP_DIR, tmp / site.APP_DIR)
        _copy_runtime(runtime, tmp / site.ORT_DIR)
        tolerance = INT8_PAGE_TOLERANCE if precision == "int8" else record.tolerances[precision]
        _write_parity(tmp, clip, predict(clip), record.layout, tolerance)
        (tmp / site.HEADERS_FILE).write_text(site.headers_text())
        parity_files = [tmp / site.PARITY_CLIP, tmp / site.PARITY_FILE]
        loaded = [p for p in sorted(tmp.rglob("*")) if p.is_file() and p not in parity_files]
        s.log(
            f"{name}: the page loads {gzipped_mb(loaded):.1f} MB gzipped ({len(runtime.files)} runtime "
            f"files); the parity files add {gzipped_mb(parity_files):.1f} MB, fetched by ?parity=1 only"
        )
        card = s.metadata(job.target, precision, converter=converter, input_name=INPUT_NAME, parity=parity)
        # the card is completed before run_step validates it, embeds it and publishes the folder
        return {
            **card,
            "versions": {**card["versions"], PACKAGE: runtime.version},
            "providers": list(runtime.providers),
        }

    return s.per_precision(job, build)
