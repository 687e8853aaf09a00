"""Models: training, calibration, baselines, evaluation, explanations, the scoring artifact, the model card.

Frames and fitted objects in, metric dicts and frames out: no logging, no disk.
"""
