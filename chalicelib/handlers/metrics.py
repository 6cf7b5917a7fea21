"""Business metrics of the event handlers: EMF lines in the `Helpdesk` namespace (CloudWatch)."""

from __future__ import annotations

METRICS_NAMESPACE = "Helpdesk"


def emit_metric(name: str, value: int) -> None:
    """One EMF line with only the service dimension: what the template's alarms watch."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name=name, unit=MetricUnit.Count, value=value, namespace=METRICS_NAMESPACE, default_dimensions={"service": "helpdesk"}
    ):
        pass
