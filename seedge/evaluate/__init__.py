"""Evaluation of a trained checkpoint: metrics, confusion matrix, Grad-CAM. Imports torch."""

from seedge.evaluate.run import default_out_dir, evaluate_checkpoint, predict, save_confusion_png  # noqa: F401
