"""Every file vmf writes: ordinary permissions under the umask, never half-written, and an
artifact never beside a card that is not its own, even after ``kill -9``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vmf.contract.card import read_sidecar
from vmf.export.metadata import read_embedded
from vmf.export.sidecar import write_sidecar
from vmf.model.files import publish_pair, write_text

from test_model_card import card


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_checkpoint_card_csv_and_plots_have_ordinary_permissions(tmp_path, umask):
    pytest.importorskip("matplotlib")
    from vmf.benchmarks.plot import plot_latency
    from vmf.benchmarks.rows import Row, to_csv, write_text_atomic
    from vmf.model import build_model, save_checkpoint
    from vmf.train.plots import plot_curves

    expected = 0o666 & ~umask  # what open() would give: 0644 under umask 022
    checkpoint = save_checkpoint(build_model("560M", num_classes=2), tmp_path / "run" / "best.pt")
    written_card = write_sidecar(tmp_path / "m.tflite", card())
    row = Row(
        "560M",
        False,
        "onnxruntime",
        "fp32",
        None,
        2,
        "cpu",
        64,
        172,
        macs=5 * 10**8,
        p50_ms=20.0,
        model="VMF-560M",
    )
    csv_file = write_text_atomic(tmp_path / "perf.csv", to_csv([row]))
    plot = plot_latency([row], tmp_path / "perf.png")
    history = [
        {
            "epoch": 1,
            "train_loss": 1.0,
            "val_loss": 1.1,
            "train_top1": 0.5,
            "val_top1": 0.4,
            "val_mean_class_accuracy": 0.4,
        }
    ]
    plot_curves(history, tmp_path / "results.png")
    for path in (checkpoint, written_card, csv_file, plot, tmp_path / "results.png"):
        assert mode(path) == expected, f"{path.name}: {oct(mode(path))}"
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no scratch file left anywhere
        "m.json",
        "perf.csv",
        "perf.png",
        "results.png",
        "run",
    ]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["best.pt"]


def test_a_failed_write_leaves_the_old_file_and_no_scratch(tmp_path):
    path = write_text(tmp_path / "a.txt", "old")
    from vmf.model.files import atomic_path

    with pytest.raises(RuntimeError, match="the writer failed"):
        with atomic_path(path) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("the writer failed")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


# Each child publishes a new artifact and card over an old pair, and dies (os._exit: no
# cleanup, like kill -9) at the N-th rename or removal the publication makes.
KILLED_AT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from vmf.model import files

    die_at, calls = int(sys.argv[2]), [0]
    real_replace, real_unlink = os.replace, Path.unlink

    def counted(real):
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == die_at:
                os._exit(9)
            return real(*args, **kwargs)
        return call

    os.replace = counted(real_replace)
    Path.unlink = counted(real_unlink)
    out = Path(sys.argv[1])
    tmp = files.scratch_path(out / "m.tflite")
    tmp.write_text("new model")
    files.publish_pair(tmp, out / "m.tflite", '{"model": "new model"}', out / "m.json")
    os._exit(0)
""")


@pytest.mark.parametrize("die_at", [1, 2, 3, 4, 5])
def test_kill_9_during_publication_never_leaves_a_mismatched_pair(tmp_path, die_at):
    (tmp_path / "m.tflite").write_text("old model")
    (tmp_path / "m.json").write_text('{"model": "old model"}')
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AT, str(tmp_path), str(die_at)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 9), done.stderr
    artifact, card_file = tmp_path / "m.tflite", tmp_path / "m.json"
    if artifact.exists():  # an artifact is only ever beside its own card
        assert json.loads(card_file.read_text())["model"] == artifact.read_text()
    if done.returncode == 0:
        assert artifact.read_text() == "new model"


def test_publish_pair_replaces_an_mlpackage_folder(tmp_path):
    old = tmp_path / "m.mlpackage"
    (old / "Data").mkdir(parents=True)
    (old / "Data" / "model.mlmodel").write_text("old")
    new = tmp_path / ".m.1234.partial.mlpackage"
    (new / "Data").mkdir(parents=True)
    (new / "Data" / "model.mlmodel").write_text("new")
    publish_pair(new, old, "{}", tmp_path / "m.json")
    assert (old / "Data" / "model.mlmodel").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.mlpackage"]


# A real export step (vmf.export.steps.run_step, the exporter's publication path) killed
# with SIGKILL at each rename: the artifact in --out and its card are the same export's.
KILLED_STEP = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from test_model_card import card
    from vmf.export.steps import run_step

    die_at, calls, real_replace = int(sys.argv[2]), [0], os.replace

    def replace(*args):
        calls[0] += 1
        if calls[0] == die_at:
            os.kill(os.getpid(), 9)
        return real_replace(*args)

    os.replace = replace
    final = Path(sys.argv[1]) / "tflite" / "m.tflite"

    def build(tmp):
        tmp.write_bytes(b"TFL3 second export")
        return card(converter="second")

    run_step("tflite fp32", final, build, log=lambda m: None, target="tflite", precision="fp32",
             converter="second", form="deployable")
""")


@pytest.mark.parametrize("die_at", [1, 2, 3])
def test_an_export_killed_between_writes_leaves_no_mismatched_pair(tmp_path, die_at):
    from vmf.export.steps import run_step

    final = tmp_path / "tflite" / "m.tflite"

    def first(tmp):
        tmp.write_bytes(b"TFL3 first export")
        return card(converter="first")

    run_step(
        "tflite fp32",
        final,
        first,
        log=lambda m: None,
        target="tflite",
        precision="fp32",
        converter="first",
        form="deployable",
    )
    subprocess.run(
        [sys.executable, "-c", KILLED_STEP, str(tmp_path), str(die_at), str(Path(__file__).parent)],
        capture_output=True,
        timeout=120,
    )
    visible = sorted(p.name for p in final.parent.iterdir() if not p.name.startswith("."))
    assert visible in (["m.json", "m.tflite"], ["m.json"], []), visible
    if final.exists():
        embedded = read_embedded(final)  # the card inside the artifact is the export's own
        assert read_sidecar(final) == embedded
        assert final.read_bytes().startswith(f"TFL3 {embedded['converter']} export".encode())


def test_sigterm_during_an_export_step_removes_its_scratch(tmp_path):
    script = textwrap.dedent("""
        import os, signal, sys
        from pathlib import Path
        from vmf.export.steps import run_step

        def build(tmp):
            tmp.write_bytes(b"half a model")
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("SIGTERM did not interrupt the build")

        run_step("tflite fp32", Path(sys.argv[1]) / "m.tflite", build, log=print,
                 target="tflite", precision="fp32", converter=None, form="deployable")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "out")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "FAILED" in done.stdout and "AssertionError" not in done.stderr
    assert not (tmp_path / "out").exists()  # the folder it created, scratch and all, is gone
