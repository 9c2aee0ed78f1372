"""Traces and metrics of what the engine reports: OpenTelemetry and Prometheus."""
