"""What one bundle verification has read and found so far, shared by its steps."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from custody.bundle.data_list import DataListRow
from custody.bundle.files import Hashed, hash_path, is_regular
from custody.bundle.model import Check
from custody.checkpoint import Checkpoint, VerifierKey
from custody.cosignature import WitnessKey
from custody.errors import CustodyError
from custody.ledger import Action
from custody.report import VerificationReport
from custody.rotation import Rotation
from custody.timestamp import TsaTrust


class VerifyContext:
    """The bag being checked, the trusted key, and every check made, in order."""

    def __init__(
        self,
        root: Path,
        trusted: VerifierKey,
        content_dir: Path | None,
        *,
        witnesses: Sequence[WitnessKey] = (),
        min_witnesses: int = 0,
        tsa_trust: Sequence[TsaTrust] = (),
    ) -> None:
        self.root = root
        self.trusted = trusted
        self.trusted_text = trusted.to_text()
        self.content_dir = content_dir
        self.witnesses = list(witnesses)
        self.min_witnesses = min_witnesses
        self.tsa_trust = list(tsa_trust)
        self.rotations: list[Rotation] = []  # followed from the trusted key
        self.rotation_entries: dict[int, bytes] = {}
        self.signer: VerifierKey = trusted  # the key that signed the checkpoint
        self.checks: list[Check] = []
        self.hashes: dict[str, Hashed] = {}
        self.payload: list[str] = []  # "data/…" regular files on disk
        self.checkpoint: Checkpoint | None = None
        self.entries: dict[int, tuple[bytes, dict[str, Any]]] = {}
        self.case: dict[str, Any] | None = None
        self.data_list: list[DataListRow] | None = None
        self.reports: dict[str, VerificationReport] = {}

    @property
    def keys(self) -> list[VerifierKey]:
        """The trusted key and every key it rotated to (each step signed by the one before)."""
        return [self.trusted, *(r.new for r in self.rotations)]

    # bookkeeping

    def ok(self, item: str, message: str) -> None:
        self.checks.append(Check(item=item, ok=True, message=message))

    def fail(self, item: str, message: str) -> None:
        self.checks.append(Check(item=item, ok=False, message=message))

    def skip(self, item: str, message: str) -> None:
        self.checks.append(Check(item=item, ok=True, message=message, skipped=True))

    @contextmanager
    def guard(self, item: str) -> Iterator[None]:
        """Any unexpected error in one step becomes a FAIL of that item, and we go on."""
        try:
            yield
        except (CustodyError, OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            message = e.message if isinstance(e, CustodyError) else f"{type(e).__name__}: {e}"
            self.fail(item, f"{item}: could not be checked: {message}")

    # reading the bag

    def path(self, rel: str) -> Path:
        return self.root.joinpath(*rel.split("/"))

    def read(self, rel: str) -> bytes | None:
        path = self.path(rel)
        if not is_regular(path):
            return None
        return path.read_bytes()

    def hashed(self, rel: str) -> Hashed | None:
        if rel not in self.hashes:
            path = self.path(rel)
            if not is_regular(path):
                return None
            self.hashes[rel] = hash_path(path)
        return self.hashes[rel]

    def find_copy(self, candidates: Sequence[Path], sha256: str) -> tuple[Path, Hashed] | None:
        """The first of ``candidates`` (outside the bag) whose SHA-256 is ``sha256``."""
        for path in candidates:
            key = f"\x00{path}"
            if key not in self.hashes:
                self.hashes[key] = hash_path(path)
            if self.hashes[key].sha256 == sha256:
                return path, self.hashes[key]
        return None

    # what earlier steps found

    @property
    def case_number(self) -> str | None:
        case = (self.case or {}).get("case")
        number = case.get("number") if isinstance(case, Mapping) else None
        return number if isinstance(number, str) else None

    def case_items(self) -> dict[str, Mapping[str, Any]]:
        """data/case.json's items by evidence id."""
        items: dict[str, Mapping[str, Any]] = {}
        if self.case is not None:
            for item in self.case.get("evidence") or []:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    items[item["id"]] = item
        return items

    def evidence_ids(self) -> list[str]:
        """Every item the bag names: in data/case.json or as a folder under data/evidence/."""
        ids = set(self.case_items())
        folder = self.path("data/evidence")
        if folder.is_dir():
            ids.update(p.name for p in folder.iterdir())
        return sorted(ids)

    def export_entry(self) -> tuple[int, dict[str, Any]] | None:
        """The EXPORT entry at the head of the case chain (the checkpoint's last leaf)."""
        cp = self.checkpoint
        if cp is None or cp.size == 0 or (cp.size - 1) not in self.entries:
            return None
        value = self.entries[cp.size - 1][1]
        return (cp.size - 1, value) if value.get("action") == Action.EXPORT else None

    def intake_entries(self) -> dict[str, tuple[int, dict[str, Any]]]:
        """The bundled INTAKE entries, by evidence id."""
        return {
            str(value.get("evidence")): (seq, value)
            for seq, (_, value) in sorted(self.entries.items())
            if value.get("action") == Action.INTAKE
        }
