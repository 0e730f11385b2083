"""What the steps of one ``export`` call share: the model, its facts, the clips, the checks.

``export()`` (``api.py``) loads the model once and opens one ``ExportSession``;
each target's step (``Target.writer`` in ``vmf.contract.targets``, written
beside its converter: ``onnx.export_onnx``, ``tflite.export_tflite``, ...)
takes the session and its ``Job`` and writes its artifacts through
``per_precision`` and ``step``. The session holds the facts every card
repeats (``ModelFacts``, frozen, measured once), the options of the call
(``ExportOptions``), the parity clips and the reference logits, and it does
the checks every target shares: parity (``parity``), partition budgets
(``partitions``) and the card (``metadata``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, NamedTuple

from vmf.contract import targets as registry
from vmf.contract.card import INPUT_NAME
from vmf.model import CheckpointError, VariantConfig, VmfError, get_variant

from .metadata import ModelFacts, build_metadata
from .steps import Artifact, run_step

if TYPE_CHECKING:
    import numpy as np

SEED = 0  # seeded random weights when no --weights is given


@dataclass(frozen=True)
class ExportOptions:
    """How one ``export`` call checks and keeps what it writes."""

    form: str = "deployable"  # or "naive" (registry.FORMS)
    verify: bool = True  # fail on a parity or lint miss (False: warn and keep)
    calibration: "str | os.PathLike | None" = None  # a folder of videos for int8
    allow_partitions: bool = False  # keep a phone artifact over its partition budget
    allow_portable: bool = False  # keep a .pte with ops on ExecuTorch's portable kernels
    ort_web: "str | os.PathLike | None" = None  # the ONNX Runtime Web files a web export ships


class Calibration(NamedTuple):
    """What int8 is calibrated and judged on (``ExportSession.calibration``)."""

    calib: "np.ndarray"  # clips to calibrate on
    held: "np.ndarray"  # held-out clips, never calibrated on
    references: "np.ndarray"  # the reference model's logits on ``held``
    source: str
    held_labels: "np.ndarray | None"  # label index per held-out clip (labelled folder), else None


def prepare_out_dir(out_dir: "str | os.PathLike") -> Path:
    """Create ``out_dir`` if needed and prove it writable; one clear error if not."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".vmf-write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise VmfError(f"cannot write to --out {out} ({exc.strerror or exc.__class__.__name__})") from None
    return out


def checkpoint_config(weights) -> "VariantConfig | None":
    """The config a vmf checkpoint records (its variant, trained clip and stem); None for a state dict."""
    from vmf.model import read_checkpoint

    ckpt = read_checkpoint(weights)
    if ckpt.get("format") is None:
        return None
    try:
        return VariantConfig.from_dict(ckpt["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{weights} has a malformed config ({exc})") from None


def load_model(variant: str, weights, baseline: bool, num_classes: int | None, warn: Callable[[str], None]):
    """(reference model in eval mode, untrained?)."""
    import torch

    from vmf.model import build_model, load_weights

    cfg = get_variant(variant)
    if weights is not None:
        model = load_weights(weights, cfg, baseline=True if baseline else None, num_classes=num_classes)
        return model.eval(), False
    warn(
        f"warning: no --weights given; exporting seeded random weights (seed {SEED}): "
        "the model runs but its predictions mean nothing"
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = build_model(cfg, baseline=baseline, num_classes=num_classes or 400)
    return model.eval(), True


def run_all(predict, clips, name: str) -> "np.ndarray":
    """``predict_all``, with a runtime's refusal to run the artifact as one clear error."""
    from .parity import predict_all

    try:
        return predict_all(predict, clips)
    except (RuntimeError, ValueError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise VmfError(f"{name} was written but does not run ({reason}); nothing was kept") from None


def writer_of(target: str) -> Callable[["ExportSession", registry.Job], list[Artifact]]:
    """The step that writes ``target`` (its record's ``writer``, imported when first used)."""
    module, _, function = registry.get(target).writer.partition(":")
    return getattr(importlib.import_module(module), function)


class ExportSession:
    """State shared by the steps of one ``export`` call (model, facts, clips, references, scratch)."""

    def __init__(
        self,
        model,
        facts: ModelFacts,
        options: ExportOptions,
        *,
        out: Path,
        scratch: Path,
        log: Callable[[str], None],
        warn: Callable[[str], None],
    ):
        from .parity import PARITY_CLIPS, structured_clips

        self.model, self.facts, self.options = model, facts, options
        self.out, self.scratch, self.log, self.warn = out, scratch, log, warn
        self.clips = structured_clips(PARITY_CLIPS, facts.frames, facts.resolution, seed=SEED)
        self.references = self.reference_logits(self.clips)
        self._modules: dict = {}
        self._calibration: Calibration | None = None

    # -- shared inputs ----------------------------------------------------------------
    def reference_logits(self, clips: "np.ndarray") -> "np.ndarray":
        import numpy as np
        import torch

        with torch.no_grad():
            return np.concatenate(
                [self.model(torch.from_numpy(c).permute(1, 0, 2, 3)[None]).numpy() for c in clips]
            )

    def module(self, layout: str, spelling: str = "default"):
        """The form being exported, taking one ``layout`` clip (built once per layout and spelling)."""
        key = layout if spelling == "default" else f"{layout}/{spelling}"
        if key not in self._modules:
            if self.options.form == "naive":
                if layout != "TCHW" or spelling != "default":
                    raise VmfError("the naive form takes TCHW clips only")
                from .naive import NaiveClipModel

                self._modules[key] = NaiveClipModel(self.model).eval()
            else:
                from .deployable import make_deployable

                self._modules[key] = make_deployable(
                    self.model,
                    frames=self.facts.frames,
                    layout=layout,
                    resolution=self.facts.resolution,
                    spelling=spelling,
                )
        return self._modules[key]

    def example(self, layout: str):
        import torch

        from .parity import to_layout

        return torch.from_numpy(to_layout(self.clips[0], layout))

    def calibration(self) -> Calibration:
        """(calibration clips, held-out clips, held-out reference logits, source, held-out labels)."""
        if self._calibration is None:
            from .calibration import calibration_sets

            sets = calibration_sets(
                self.facts.frames,
                self.facts.resolution,
                self.options.calibration,
                labels=list(self.facts.labels),
                warn=self.warn,
            )
            self._calibration = Calibration(
                sets.calib, sets.held, self.reference_logits(sets.held), sets.source, sets.held_labels
            )
        return self._calibration

    @contextlib.contextmanager
    def timed(self, done: str) -> Iterator[None]:
        """Log ``<done> in 4.2 s`` when the block finishes."""
        start = time.perf_counter()
        yield
        self.log(f"{done} in {time.perf_counter() - start:.1f} s")

    # -- checks and metadata ------------------------------------------------------------
    def parity(self, predict, target: str, precision: str, name: str) -> dict:
        """Measure, gate, and (unless verify is off) fail on a miss."""
        from .parity import compare, gate, labelled_accuracy

        if precision == "int8":
            data = self.calibration()
            outputs = run_all(predict, data.held, name)
            figures = compare(outputs, data.references)
            figures["heldout"] = data.source
            if data.held_labels is not None:  # reported, not gated: the gate is the cosine
                figures.update(labelled_accuracy(outputs, data.references, data.held_labels))
        else:
            figures = compare(run_all(predict, self.clips, name), self.references)
        figures = gate(figures, target, precision)
        figures["checked"] = True
        if not figures["passed"]:
            miss = (
                f"cosine median {figures['cosine_median']:.4f} (>= {figures['threshold']}), "
                f"min {figures['cosine_min']:.4f} (>= {figures['floor']})"
                if figures["metric"] == "cosine_median"
                else f"max rel err {figures['max_rel_err']:.2e} > {figures['threshold']:.0e}"
            )
            if self.options.verify:
                raise VmfError(
                    f"parity check failed for {name}: {miss}; nothing was written (--no-verify keeps it)"
                )
            self.warn(f"warning: parity check failed for {name}: {miss} (kept: --no-verify)")
        return figures

    def metadata(
        self,
        target: str,
        precision: str,
        *,
        converter: str | None,
        parity: dict,
        input_name: str = INPUT_NAME,
        lint: dict | None = None,
        partitions: dict | None = None,
        layout: str | None = None,
    ) -> dict:
        """The card of one artifact; ``layout`` defaults to the target's (``Target.layout``), the
        input's name to the one every target but a split half and ExecuTorch uses."""
        return build_metadata(
            self.facts,
            target=target,
            form=self.options.form,
            precision=precision,
            converter=converter,
            input_name=input_name,
            layout=layout or registry.get(target).layout,
            parity=parity,
            lint=lint,
            partitions=partitions,
        )

    def partitions(self, counts: dict, budget_of: str | None, name: str) -> dict:
        """The card's ``partitions`` object; over ``budget_of``'s phone budget fails unless allowed.

        ``budget_of``: the target whose ``partition_budget`` binds; None counts only.
        """
        from .partitions import check_budget, partitions_card, summary

        card = partitions_card(counts, budget_of)
        self.log(f"{name}: partitions {summary(counts)}")
        if budget_of is not None and not card["within_budget"]:
            if not self.options.allow_partitions:
                check_budget(counts, budget_of, name)
            self.warn(f"warning: {name} exceeds its partition budget (kept: --allow-partitions)")
        return card

    # -- writing --------------------------------------------------------------------------
    def final_path(self, target: str, precision: str, converter: str | None) -> Path:
        # One folder per target: the sidecar of x.onnx and of x.tflite would both be x.json.
        return self.out / target / self.facts.artifact_name(target, precision, converter, self.options.form)

    def step(self, target, precision, converter, build, final: Path | None = None) -> Artifact:
        """Build one artifact (``build(tmp) -> card``) and publish it (``steps.run_step``)."""
        what = f"{target} {precision}" + (f" ({converter})" if converter else "")
        final = final or self.final_path(target, precision, converter)
        return run_step(
            what,
            final,
            build,
            log=self.log,
            target=target,
            precision=precision,
            converter=converter,
            form=self.options.form,
        )

    def per_precision(self, job: registry.Job, build: Callable[..., dict]) -> list[Artifact]:
        """One step per precision of ``job``: ``build(tmp, precision) -> card``, in order."""
        return [
            self.step(job.target, p, job.converter, functools.partial(build, precision=p))
            for p in job.precisions
        ]
