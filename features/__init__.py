"""Feature pipelines: data contracts, fit and intent features, the ICP guardrail, synthetic CRM history.

Frames in, frames out: nothing in this package touches disk, MLflow or the environment.
"""
