"""The ratios the performance goals (docs/performance.md) are stated in, read off the timed rows.

Each line pairs two rows of the same run that differ in one thing only (the
form, the backend, the precision, or the model), so the ratio says what that
one thing costs on this machine:

- deployable vs naive export, per backend, and on torch deployable (.pt2) vs the
  reference network (a checkpoint): why the rank-4 rewrite exists;
- LiteRT and OpenVINO vs ONNX Runtime on the same model, form, precision and threads;
- int8 vs fp32 on the same backend, with the int8 export's agreement figure;
- VMF vs its Mobile3D baseline: what the Former and the bridges cost;
- each VMF variant's fastest row vs X3D-S's fastest at the same thread count (Table 12);
- with ``--paced``, each row paced vs back to back: what a stream's idle time between
  clips costs that runtime (docs/streaming.md, "Measured figures").
"""

from __future__ import annotations

from .rows import Row

NAMES = {"tflite": "LiteRT", "openvino": "OpenVINO"}
ONNX_RUNTIME_PEERS = tuple(NAMES)  # CPU backends each compared with ONNX Runtime, row for row


def _speed(fast: Row, slow: Row) -> str:
    ratio = slow.p50_ms / fast.p50_ms
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


def _same(r: Row, **changes) -> tuple:
    d = {
        "model": r.model,
        "form": r.form,
        "backend": r.backend,
        "precision": r.precision,
        "threads": r.threads,
        "device": r.device,
        "frames": r.frames,
        "resolution": r.resolution,
    }
    d.update(changes)
    return tuple(sorted(d.items()))


def comparisons(rows: list[Row]) -> list[str]:
    timed = [r for r in rows if r.ok and r.p50_ms]
    index = {_same(r): r for r in timed}
    forms, backends, precisions, baselines, lines, paced = [], [], [], [], [], []
    for r in timed:
        if r.paced_ratio is not None:
            spin = "" if r.spin is None else f", spin-wait {'on' if r.spin else 'off'}"
            paced.append(
                f"{r.model} {r.form} {r.backend} {r.precision} {r.threads}t{spin}: one clip every "
                f"{r.paced_ms:.3g} ms p50 {r.paced_p50_ms:.1f} ms vs back to back {r.p50_ms:.1f} ms: "
                f"paced {r.paced_ratio:.2f}x"
            )
        where = f"{r.backend} {r.precision} {r.threads}t"
        if r.form == "deployable":
            for form, what in (("naive", "naive export"), ("reference", "reference network")):
                other = index.get(_same(r, form=form))
                if other:
                    forms.append(
                        f"{r.model} {where}: deployable {r.p50_ms:.1f} ms vs {what} "
                        f"{other.p50_ms:.1f} ms: {_speed(r, other)}"
                    )
        if r.backend in ONNX_RUNTIME_PEERS:
            ort = index.get(_same(r, backend="onnxruntime"))
            if ort:
                name = NAMES[r.backend]
                backends.append(
                    f"{r.model} {r.form} {r.precision} {r.threads}t: {name} "
                    f"{r.p50_ms:.1f} ms vs ONNX Runtime {ort.p50_ms:.1f} ms: "
                    f"{name} {_speed(r, ort)}"
                )
        if r.precision == "int8":
            fp32 = index.get(_same(r, precision="fp32"))
            if fp32:
                agreement = f" (int8 parity: {r.parity})" if r.parity else ""
                precisions.append(
                    f"{r.model} {r.form} {r.backend} {r.threads}t: int8 "
                    f"{r.p50_ms:.1f} ms vs fp32 {fp32.p50_ms:.1f} ms: int8 "
                    f"{_speed(r, fp32)}{agreement}"
                )
        if r.baseline:
            vmf = index.get(_same(r, model=f"VMF-{r.variant}"))
            if vmf:
                baselines.append(
                    f"VMF-{r.variant} vs Mobile3D-{r.variant} {r.form} {where}: "
                    f"{vmf.p50_ms:.1f} vs {r.p50_ms:.1f} ms: the Former and bridges add "
                    f"{(vmf.p50_ms / r.p50_ms - 1) * 100:+.0f}%"
                )
    # Fastest against fastest: X3D-S is timed on the same backends and threads as VMF.
    for threads in dict.fromkeys(r.threads for r in timed if r.model == "X3D-S"):
        x3d = min((r for r in timed if r.model == "X3D-S" and r.threads == threads), key=lambda r: r.p50_ms)
        peers = [
            r for r in timed if r.model.startswith("VMF-") and r.threads == threads and r.device == x3d.device
        ]
        for model in dict.fromkeys(r.model for r in peers):
            best = min((r for r in peers if r.model == model), key=lambda r: r.p50_ms)
            lines.append(
                f"{model} fastest ({best.backend} {best.form} {best.precision}, "
                f"{best.p50_ms:.1f} ms, {best.frames}x{best.resolution}) vs X3D-S "
                f"fastest ({x3d.backend} {x3d.form}, {x3d.p50_ms:.1f} ms, "
                f"{x3d.frames}x{x3d.resolution}), {threads}t: {_speed(best, x3d)}"
            )
    return forms + backends + precisions + baselines + lines + paced
