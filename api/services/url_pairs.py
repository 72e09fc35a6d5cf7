"""Settings that name remote services: ``url=value,…`` or a JSON list of objects.

``CUSTODY_WITNESSES`` (url and witness key) and ``CUSTODY_TSA`` (url and certificate file)
share one spelling, read here once.
"""

from __future__ import annotations

import json

from custody.errors import InputError


def url_pairs(text: str, *, setting: str, field: str) -> list[tuple[str, str]]:
    """``[(url, value)]`` from ``[{"url": …, field: …}]`` or ``url=value,url=value``.

    The short form splits at the first ``=``: a witness key ends in base64 padding, so the
    value may hold ``=`` but the URL may not (give a URL with a query in the JSON form).
    """
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            return [(str(item["url"]), str(item[field])) for item in json.loads(text)]
        except (ValueError, TypeError, KeyError) as e:
            raise InputError(f"{setting} is not a JSON list of {{url, {field}}}: {e}") from e
    pairs = []
    for part in text.split(","):
        url, sep, value = part.strip().partition("=")
        if not sep or not url or not value:
            raise InputError(f"{setting}: {part!r} is not url={field}")
        pairs.append((url, value))
    return pairs
