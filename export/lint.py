"""Graph lint of a TFLite file: what phone accelerators refuse, found before shipping.

Run after every TFLite export. It fails on
- any tensor of rank > 4: the GPU delegate and NNAPI take rank <= 4 only
  ("bad input dims size: 5");
- any CONV_3D: neither the GPU delegate, XNNPACK nor the int8 quantizer has it;
- any Flex (SELECT_TF) or other custom op: a stock LiteRT runtime cannot run it.
It also counts ops by type and records the verdict of TensorFlow's
``tf.lite.experimental.Analyzer`` GPU check where TensorFlow is installed
(advisory only: it passes even a CONV_3D graph, hence the checks above).

The flatbuffer is read with the schema bundled in ``ai-edge-litert``, so the
lint sees the graph as written, before any delegate rewrites it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vmf.model import MissingDependencyError, VmfError

from .litert import gpu_analysis

MAX_RANK = 4
FORBIDDEN_OPS = ("CONV_3D", "CONV_3D_TRANSPOSE")


@dataclass
class LintReport:
    """What the lint found in one .tflite file."""

    op_counts: dict[str, int]
    max_rank: int
    problems: list[str] = field(default_factory=list)
    gpu_compatible: bool | None = None  # None: TensorFlow's analyzer not installed
    gpu_report: list[str] = field(default_factory=list)  # the analyzer's warnings, if any

    @property
    def passed(self) -> bool:
        return not self.problems and self.gpu_compatible is not False

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "ops": sum(self.op_counts.values()),
            "op_counts": dict(sorted(self.op_counts.items())),
            "max_rank": self.max_rank,
            "gpu_compatible": self.gpu_compatible,
            "problems": list(self.problems),
        }

    def summary(self) -> str:
        gpu = {True: "GPU-compatible", False: "NOT GPU-compatible", None: "GPU check skipped"}
        verdict = "ok" if self.passed else "FAILED: " + "; ".join(self.problems + self.gpu_report[:1])
        return (
            f"{sum(self.op_counts.values())} ops, max rank {self.max_rank}, "
            f"{gpu[self.gpu_compatible]}, lint {verdict}"
        )


def lint_tflite(path: "str | os.PathLike", *, gpu_check: bool = True) -> LintReport:
    """Inspect ``path`` (a .tflite file); never raises for a lint failure, see ``check_tflite``."""
    ops, ranks = _read_graph(Path(path))
    counts = Counter(ops)
    problems = []
    worst = max((rank for _, rank in ranks), default=0)
    if worst > MAX_RANK:
        high = [name for name, rank in ranks if rank > MAX_RANK]
        problems.append(f"{len(high)} tensors of rank > {MAX_RANK} (e.g. {high[0]!r})")
    for op in FORBIDDEN_OPS:
        if counts.get(op):
            problems.append(f"{counts[op]} {op} ops")
    custom = sorted(op for op in counts if op.startswith(("Flex", "CUSTOM:")))
    if custom:
        problems.append(f"Flex/custom ops {', '.join(custom)} (a stock LiteRT runtime lacks them)")
    report = LintReport(dict(counts), worst, problems)
    if gpu_check:
        report.gpu_compatible, report.gpu_report = _gpu_verdict(Path(path))
    return report


def check_tflite(path: "str | os.PathLike", *, gpu_check: bool = True) -> LintReport:
    """``lint_tflite``, raising one ``VmfError`` line when the graph fails the lint."""
    report = lint_tflite(path, gpu_check=gpu_check)
    if not report.passed:
        raise VmfError(f"graph lint failed for {Path(path).name}: {report.summary()}")
    return report


def _read_graph(path: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """Op names and (tensor name, rank) of every subgraph, straight from the flatbuffer."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        raise MissingDependencyError(
            "the TFLite lint needs ai-edge-litert: pip install 'vmf[tflite]'"
        ) from None
    try:
        data = path.read_bytes()
        model = schema.Model.GetRootAs(data, 0)
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        codes = []
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            if builtin == schema.BuiltinOperator.CUSTOM:
                custom = (code.CustomCode() or b"").decode()
                codes.append(custom if custom.startswith("Flex") else f"CUSTOM:{custom}")
            else:
                codes.append(names.get(builtin, f"BUILTIN_{builtin}"))
        ops, ranks = [], []
        for s in range(model.SubgraphsLength()):
            graph = model.Subgraphs(s)
            ops += [codes[graph.Operators(i).OpcodeIndex()] for i in range(graph.OperatorsLength())]
            for i in range(graph.TensorsLength()):
                tensor = graph.Tensors(i)
                ranks.append(((tensor.Name() or b"").decode(errors="replace"), tensor.ShapeLength()))
    except OSError as exc:
        raise VmfError(f"cannot read {path} ({exc.__class__.__name__})") from None
    except Exception:  # a truncated or foreign file makes the flatbuffer accessors fail anywhere
        raise VmfError(f"{path} is not a readable TFLite flatbuffer") from None
    return ops, ranks


def _gpu_verdict(path: Path) -> tuple[bool | None, list[str]]:
    """TensorFlow's GPU-delegate compatibility check, or (None, []) without TensorFlow."""
    text = gpu_analysis(path)
    if text is None:
        return None, []
    warnings = [line.strip() for line in text.splitlines() if "GPU COMPATIBILITY WARNING" in line]
    return ("looks compatible with GPU delegate" in text and not warnings), warnings
