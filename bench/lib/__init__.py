"""Helpers the benchmarks share: private server instances on loopback, CPU accounting, stats.

Every helper here starts processes of its own and stops them by pid (or with the server's own
stop command for its private instance); none touches a system-wide service.
"""
