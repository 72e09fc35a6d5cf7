"""Exit codes and error objects shared by both CLIs (DESIGN §5), and the trusted-key reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.checkpoint import SigningKey
from custody.errors import (
    AuthenticationRequired,
    BundleError,
    CheckpointError,
    Conflict,
    CustodyError,
    DigestMismatch,
    InputError,
    LedgerIntegrityError,
    ObjectMissing,
    PermissionDenied,
    ProofError,
    RetentionActive,
    ServerError,
    ServerUnavailable,
    StorageFull,
    StorageUnavailable,
    UnknownCase,
)
from custody.offline import load_trusted_key
from custody.verdicts import ExitCode, error_json, exit_code_for

KEY = SigningKey.generate("lab.example/ledger").verifier()


@pytest.mark.parametrize(
    ("error", "code", "name"),
    [
        (ProofError("the proof does not lead to the root"), ExitCode.INTEGRITY, "invalid-proof"),
        (
            CheckpointError("no signature by a trusted key"),
            ExitCode.INTEGRITY,
            "invalid-checkpoint",
        ),
        (LedgerIntegrityError("bad prev", seq=3), ExitCode.INTEGRITY, "ledger-integrity"),
        (InputError("bad"), ExitCode.USAGE, "invalid-input"),
        (UnknownCase("no case X"), ExitCode.USAGE, "unknown-case"),
        (StorageUnavailable("minio down"), ExitCode.UNAVAILABLE, "storage-unavailable"),
        (PermissionDenied("not yours"), ExitCode.PERMISSION, "permission-denied"),
        (PermissionError(13, "Permission denied", "/x"), ExitCode.PERMISSION, "permission-denied"),
        (FileNotFoundError(2, "No such file or directory", "/y"), ExitCode.USAGE, "file-not-found"),
        (BundleError("bag does not validate"), ExitCode.INTEGRITY, "bundle-invalid"),
        (DigestMismatch("sha256 differs"), ExitCode.INTEGRITY, "digest-mismatch"),
        (ObjectMissing("stored object gone"), ExitCode.INTEGRITY, "object-missing"),
        (RetentionActive("retained until 2030"), ExitCode.USAGE, "retention-active"),
        (Conflict("taken"), ExitCode.USAGE, "conflict"),
        (StorageFull("disk full"), ExitCode.UNAVAILABLE, "storage-full"),
        (ServerError("500"), ExitCode.UNAVAILABLE, "server-error"),
        (ServerUnavailable("refused"), ExitCode.UNAVAILABLE, "server-unavailable"),
        (CustodyError("unclassified"), ExitCode.UNAVAILABLE, "custody-error"),
        (AuthenticationRequired("no token"), ExitCode.PERMISSION, "authentication-required"),
    ],
)
def test_every_error_has_its_exit_code_and_name(
    error: Exception, code: ExitCode, name: str
) -> None:
    assert exit_code_for(error) == code
    value = error_json(error)
    assert value["ok"] is False and value["code"] == name and value["exit_code"] == int(code)
    assert value["error"]


def test_a_reported_code_is_the_code_of_the_json() -> None:
    """A server's code no class has: the class its status implies, the code as reported."""
    error = InputError("d")
    error.status, error.reported_code = 400, "request-validation"
    assert error_json(error) == {
        "ok": False,
        "error": "d",
        "code": "request-validation",
        "exit_code": 2,
    }


def test_os_errors_name_the_file() -> None:
    assert error_json(FileNotFoundError(2, "No such file or directory", "/y"))["error"] == (
        "/y: No such file or directory"
    )


def test_trusted_key_as_text_or_file(tmp_path: Path) -> None:
    assert load_trusted_key(KEY.to_text()) == KEY
    path = tmp_path / "lab.pub"
    path.write_text(f"\n{KEY.to_text()}\n")
    assert load_trusted_key(str(path)) == KEY


def test_bad_trusted_key_is_an_input_error_that_says_which_reading_failed(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"^--trusted-key: malformed verifier key.*no file 'x.pub'"
    ):
        load_trusted_key("x.pub")
    flipped = KEY.to_text()[:-3] + ("A" if KEY.to_text()[-3] != "A" else "B") + KEY.to_text()[-2:]
    with pytest.raises(InputError, match=r"^--trusted-key: "):
        load_trusted_key(flipped)
    (tmp_path / "bad.pub").write_text("garbage")
    with pytest.raises(InputError, match=f"^--trusted-key {tmp_path / 'bad.pub'}: malformed"):
        load_trusted_key(str(tmp_path / "bad.pub"))
    with pytest.raises(InputError, match="is not a file"):
        load_trusted_key(str(tmp_path))
