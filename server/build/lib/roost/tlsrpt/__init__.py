"""SMTP TLS Reporting (RFC 8460): recording TLS results and building the daily report.

:mod:`.results` names results the RFC's way; :mod:`.store` keeps them per policy
domain and UTC day and builds the §4.4 JSON; :mod:`.reporter` plugs the store into
the deliverer's TLS result hooks. Sending reports is not implemented yet.
"""

from roost.tlsrpt.reporter import StoreReporter, report_policy
from roost.tlsrpt.results import Failure, PolicyType, ReportPolicy, ResultType
from roost.tlsrpt.store import TLSReportStore

__all__ = [
    "Failure",
    "PolicyType",
    "ReportPolicy",
    "ResultType",
    "StoreReporter",
    "TLSReportStore",
    "report_policy",
]
