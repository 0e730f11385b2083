"""The run folder's pictures: training curves and the confusion matrix (matplotlib).

matplotlib is the ``plot`` extra: without it the run goes on and says once
that it drew nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vmf.model.files import write_with

_warned = False


def _pyplot(warn):
    global _warned
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if not _warned:
            warn("note: matplotlib is not installed (pip install 'vmf[plot]'); no plots drawn")
            _warned = True
        return None
    return plt


def _save(fig, plt, path: Path) -> None:
    try:
        write_with(path, lambda tmp: fig.savefig(tmp, dpi=110))
    finally:
        plt.close(fig)


def plot_curves(history: list[dict], path: Path, warn=print) -> None:
    """Loss and accuracy per epoch, train and val, side by side."""
    plt = _pyplot(warn)
    if plt is None or not history:
        return
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax_loss.plot(epochs, [h["val_loss"] for h in history], "o-", label="val")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.plot(epochs, [h["train_top1"] for h in history], "o-", label="train top-1")
    ax_acc.plot(epochs, [h["val_top1"] for h in history], "o-", label="val top-1")
    ax_acc.plot(epochs, [h["val_mean_class_accuracy"] for h in history], ".--", label="val mean class acc.")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    _save(fig, plt, path)


def plot_confusion(confusion: np.ndarray, classes: list[str], path: Path, warn=print) -> None:
    """Row-normalised confusion matrix (rows: true class), with the counts written in."""
    plt = _pyplot(warn)
    if plt is None:
        return
    rates = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    n = len(classes)
    size = max(5.0, 0.55 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if confusion[i, j]:
                    ax.text(
                        j,
                        i,
                        str(confusion[i, j]),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if rates[i, j] > 0.5 else "black",
                    )
    fig.tight_layout()
    _save(fig, plt, path)
