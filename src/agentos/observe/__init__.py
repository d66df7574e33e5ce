"""What an operator watches runs with besides `/metrics`: OpenTelemetry traces
(`traces.py`, the optional `otel` extra, on with the OTEL_* variables) and lifecycle log
lines (`lifecycle.py`, in the `text` or `json` format of `logformat.py`). Both are
supervisor listeners, fed each acknowledged batch of events and the run's state.
"""
