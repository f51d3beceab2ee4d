"""Reading a header that lists items with q-values (`Accept`, `Accept-Encoding`: RFC 9110,
section 12.4.2): one reading for every place that negotiates, so that they agree on what an
odd q-value means."""

from __future__ import annotations


def weighted(value: str) -> list[tuple[str, float]]:
    """The items of `value`, lowercased, each with its q-value: 1 when it has none, 0 when its
    q is not a number (no weight the client can have meant as a yes)."""
    items = []
    for part in value.split(","):
        token, _, parameters = part.partition(";")
        q = 1.0
        for parameter in parameters.split(";"):
            name, _, number = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(number)
                except ValueError:
                    q = 0.0
        items.append((token.strip().lower(), q))
    return items
