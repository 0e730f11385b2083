"""Export: the rank-4 deployable form, ONNX / TFLite / Core ML writers, parity, lint, metadata.

``from vmf.export import export`` is the Python API of ``vmf-export``. It is
imported lazily, so ``vmf.export.sidecar`` (writing model cards) stays light.
What the exporter shares with the runtime and training (the model card, the
preprocessing, the labels, the split geometry) is ``vmf.contract``'s.
"""

__all__ = ["export", "ExportReport", "Artifact"]


def __getattr__(name):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'vmf.export' has no attribute {name!r}")
