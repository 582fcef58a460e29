"""Message checks run by the SMTP endpoints."""

from roost.checks.inbound import InboundVerdict, evaluate

__all__ = ["InboundVerdict", "evaluate"]
