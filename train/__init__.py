"""Training, fine-tuning and evaluation (``vmf-train``, ``vmf-eval``, ``vmf-data``).

See docs/training.md. ``DEMO_CHECKPOINT`` is VMF-560M trained on the motion
dataset (``vmf.train.synth``); its training record sits beside it.
"""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_CHECKPOINT = DEMO_DIR / "vmf-560m-motion.pt"
