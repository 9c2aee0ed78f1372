"""Reading what `/metrics` answers: its samples by series, as a test states them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str | bytes, *prefixes: str) -> dict[str, float]:
    """Every sample of an exposition in Prometheus's text format as `name{label="value",...}`
    (labels sorted, none when it has none) to its value; only the series whose names start
    with one of `prefixes`, when given. `_created` samples (when each series was made) are
    left out: their values are times."""
    if isinstance(text, bytes):
        text = text.decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            if prefixes and not sample.name.startswith(prefixes):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found
