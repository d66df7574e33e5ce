"""Which trace exporters the standard OTEL_* environment variables ask for.

Traces are off unless one of OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_SERVICE_NAME is set; then the exporters are
OTEL_TRACES_EXPORTER's (comma-separated: `otlp`, `console`, `none`), `otlp` when it is
unset, as the specification's default. OTEL_SDK_DISABLED=true turns them off. This
module needs no OpenTelemetry package: it decides, `traces.py` builds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from agentos._exceptions import InvalidInputError

EXPORTERS = ("otlp", "console")
# any of these turns traces on
SWITCHES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
)
PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


def trace_exporters(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The exporters asked for, in order ([]: traces off); InvalidInputError for a name
    or an OTLP protocol this build does not export with."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    if not any(environ.get(name, "").strip() for name in SWITCHES):
        return []
    asked = environ.get("OTEL_TRACES_EXPORTER", "").strip() or "otlp"
    names = [n.strip().lower() for n in asked.split(",") if n.strip()]
    unknown = [n for n in names if n not in (*EXPORTERS, "none")]
    if unknown:
        raise InvalidInputError(
            f"OTEL_TRACES_EXPORTER={asked!r}: unknown exporter {unknown[0]!r} "
            f"(use {', '.join(EXPORTERS)} or none)"
        )
    if "none" in names:
        return []
    if "otlp" in names:
        _check_protocol(environ)
    return list(dict.fromkeys(names))


def _check_protocol(environ: Mapping[str, str]) -> None:
    for name in PROTOCOLS:
        protocol = environ.get(name, "").strip()
        if protocol:
            if protocol != "http/protobuf":
                raise InvalidInputError(
                    f"{name}={protocol!r}: traces are exported over OTLP/HTTP only "
                    "(use http/protobuf, port 4318)"
                )
            return
