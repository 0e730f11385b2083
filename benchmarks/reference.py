"""The paper's own latency figures (Table 12), shown beside ours as reference columns.

Table 12 times one 64-frame clip on an Nvidia V100 GPU and on an Intel Xeon
Platinum 8168 CPU @ 2.70 GHz (framework, batch and thread count not stated).
Only the VMF rows and X3D-S are kept: the Mobile3D baselines have no figures
there, and the video transformers are not built by this project.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperLatency:
    gpu_ms: float  # V100
    cpu_ms: float  # Xeon 8168


TABLE12: dict[str, PaperLatency] = {
    "VMF-560M": PaperLatency(26.1, 192.1),
    "VMF-1G": PaperLatency(29.0, 603.5),
    "VMF-2G": PaperLatency(32.9, 937.2),
    "VMF-5G": PaperLatency(57.9, 1855.0),
    "X3D-S": PaperLatency(26.9, 5117.0),
}

TABLE12_FRAMES = 64


def paper_latency(model: str, frames: int) -> PaperLatency | None:
    """Table 12's figures for ``model`` ("VMF-1G", "X3D-S") when the clip is 64 frames long."""
    return TABLE12.get(model) if frames == TABLE12_FRAMES else None


def model_name(variant: str, baseline: bool) -> str:
    """Display name as the paper writes it: ``VMF-560M``, ``Mobile3D-560M``, ``X3D-S``."""
    if variant.upper().startswith("X3D"):
        return variant
    return f"{'Mobile3D' if baseline else 'VMF'}-{variant}"
