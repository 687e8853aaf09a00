"""Pipelines: the jobs, configuration, readers and writers, MLflow runs and the registry, the CLI.

The only package with I/O and side effects.
"""
