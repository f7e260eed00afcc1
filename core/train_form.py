"""Defaults for the Train form: the demo configuration a new user starts from."""
from __future__ import annotations

from core.config import RunConfig
from core.demo import DemoAssets
from core.workspace import Workspace

# Small enough to finish in about a minute on a CPU, large enough to save two checkpoints.
DEMO_OVERRIDES = dict(save_step=100, save_n_checkpoints=2, epochs=4, batch_size=2, print_step=10,
                      plot_step=5, log_model_step=100, learning_rate=5e-6)


def demo_config(ws: Workspace, demo: DemoAssets) -> RunConfig:
    """The configuration the Train page opens with: the built-in demo."""
    return RunConfig(**DEMO_OVERRIDES, train_csv=str(demo.train_csv), eval_csv=str(demo.eval_csv),
                     base_model_dir=str(demo.base_dir), output_path=str(ws.outputs_dir / "demo"))
