"""What the imager wrote into an EWF image, under one named schema (``ewf-header/1``).

libewf reports the header section as identifiers (``case_number``, ``acquiry_date``, …) and
the hash sections as ``MD5``/``SHA1``/``SHA256``. They are recorded as the imager wrote them:
text verbatim (the acquisition date is the imager's local time, in its own spelling), the
stored hashes as lowercase hex under this project's algorithm names. Identifiers this
schema does not name are kept under ``other``, so nothing the imager said is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from custody.text import verbatim_problem

METADATA_SCHEMA = "ewf-header/1"

# libewf header identifier -> the name recorded here (what ewfinfo prints, in snake case)
HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("case_number", "case_number"),
    ("evidence_number", "evidence_number"),
    ("examiner_name", "examiner"),
    ("description", "description"),
    ("notes", "notes"),
    ("acquiry_date", "acquisition_date"),
    ("system_date", "system_date"),
    ("acquiry_operating_system", "acquisition_os"),
    ("acquiry_software", "acquisition_software"),
    ("acquiry_software_version", "acquisition_software_version"),
    ("model", "model"),
    ("serial_number", "serial_number"),
    ("device_label", "device_label"),
    ("password", "password_hash"),
    ("compression_level", "compression_level"),
    ("extents", "extents"),
)
# libewf's names of the stored hashes -> our algorithm names (DESIGN §4)
STORED_ALGORITHMS: Mapping[str, str] = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256"}
_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64}
_HEX = re.compile(r"^[0-9a-f]+$")
MAX_VALUE = 4096


def _clean(value: object) -> str | None:
    """A header value as text that can be recorded verbatim, or None when it cannot."""
    if not isinstance(value, str):
        return None
    text = value.strip("\x00").strip()
    if not text or len(text) > MAX_VALUE or verbatim_problem(text):
        return None
    return text


def header_metadata(
    values: Mapping[str, object], *, media: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The header values and media facts as recorded: ``{"schema": "ewf-header/1", …}``."""
    known = dict(HEADER_FIELDS)
    out: dict[str, Any] = {"schema": METADATA_SCHEMA}
    other: dict[str, str] = {}
    for identifier, raw in sorted(values.items()):
        text = _clean(raw)
        if text is None:
            continue
        if identifier in known:
            out[known[identifier]] = text
        else:
            other[identifier] = text
    if other:
        out["other"] = other
    if media:
        out["media"] = dict(media)
    return out


def stored_digests(values: Mapping[str, object]) -> dict[str, str]:
    """The hashes the imager stored, keyed ``md5``/``sha1``/``sha256``; blanks left out.

    A value that is not the algorithm's hex length is kept as it reads (it will not match
    anything computed, which is the finding).
    """
    out: dict[str, str] = {}
    for name, raw in values.items():
        algorithm = STORED_ALGORITHMS.get(name.upper())
        if algorithm is None or not isinstance(raw, str):
            continue
        text = raw.strip().lower()
        if not text or set(text) == {"0"}:
            continue  # an unset hash (all zeros) is no stored value
        out[algorithm] = text if _HEX.match(text) else text[: 2 * _HEX_LENGTH[algorithm]]
    return dict(sorted(out.items()))
