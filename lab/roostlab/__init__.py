"""Python side of the Roost lab: the lab CA, the DNSPod stand-in, and helpers for tests."""
