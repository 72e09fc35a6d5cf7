"""The media of an EWF set written to stdout by libewf in a process of its own.

    python -m custody.images.ewf_pipe BLOCK_SIZE WORKER WORKERS SEGMENT…

libewf's Python binding holds the GIL while it inflates, so in one process decompression
and hashing take turns. Here children only inflate and the parent only hashes, on separate
cores. Child ``WORKER`` of ``WORKERS`` writes blocks WORKER, WORKER+WORKERS, … of the media
to its stdout, and the parent reads the children in turn, so the blocks arrive in order.
A child writes exactly its blocks on success; on failure it writes a one-line reason to
stderr and exits 1, so the parent names the media level and the offset.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import BinaryIO, cast

from custody.errors import ImageError

EXIT_FAILED = 1


def _write_media(block_size: int, worker: int, workers: int, paths: Sequence[str]) -> int:
    import pyewf  # the child needs the binding; the parent checked that it is importable

    handle = pyewf.handle()
    try:
        handle.open(list(paths))
    except (OSError, ValueError, TypeError) as e:
        print(f"libewf could not open the segment files as one image ({e})", file=sys.stderr)
        return EXIT_FAILED
    out = sys.stdout.buffer
    try:
        size = int(handle.get_media_size())
        for offset in range(worker * block_size, size, workers * block_size):
            length = min(block_size, size - offset)
            try:
                data = handle.read_buffer_at_offset(length, offset)
            except (OSError, ValueError) as e:
                detail = str(e).split(". ")[0][:300]
                print(f"libewf could not read media at offset {offset} ({detail})", file=sys.stderr)
                return EXIT_FAILED
            if len(data) != length:
                print(
                    f"libewf read only {len(data)} bytes at offset {offset} of {size}: the "
                    "image is short",
                    file=sys.stderr,
                )
                return EXIT_FAILED
            out.write(data)
        out.flush()
    except BrokenPipeError:
        return EXIT_FAILED  # the parent stopped reading (it found a problem or was stopped)
    finally:
        handle.close()
    return 0


def media_blocks(
    paths: Sequence[str], size: int, block_size: int, workers: int = 1
) -> Iterator[bytearray]:
    """The media in order, inflated by ``workers`` child processes; raises ImageError
    naming the level when libewf cannot read it."""
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "custody.images.ewf_pipe",
                str(block_size),
                str(w),
                str(workers),
                *paths,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        for w in range(workers)
    ]
    for child in children:
        assert child.stdout is not None
        _widen(child.stdout.fileno())
    try:
        done, index = 0, 0
        while done < size:
            want = min(block_size, size - done)
            child = children[index % workers]
            block = _read_exactly(cast(BinaryIO, child.stdout), want)
            if len(block) != want:
                _fail(child)
            done, index = done + want, index + 1
            yield block
        for child in children:
            if cast(BinaryIO, child.stdout).read(1) or child.wait() != 0:
                _fail(child)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
            cast(BinaryIO, child.stdout).close()
            cast(BinaryIO, child.stderr).close()


def _fail(child: subprocess.Popen[bytes]) -> None:
    """Raise the reason a child gave (it has stopped writing)."""
    code = child.wait()
    reason = cast(BinaryIO, child.stderr).read().decode("utf-8", "replace").strip().splitlines()
    why = reason[-1] if reason else f"the reader exited with status {code}"
    raise ImageError(f"media: {why}")


def _widen(fd: int) -> None:
    """Ask Linux for a 1 MiB pipe (F_SETPIPE_SZ): fewer wake-ups per block than 64 KiB."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass  # elsewhere, or above the system's limit: the default pipe still works


def _read_exactly(stream: BinaryIO, n: int) -> bytearray:
    """``n`` bytes from a raw pipe (each read may return less), fewer only at its end."""
    buffer = bytearray(n)
    view = memoryview(buffer)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not k:
            break
        got += k
    del view
    if got != n:
        del buffer[got:]
    return buffer


def main(argv: Sequence[str]) -> int:
    if len(argv) < 4 or not all(a.isdigit() for a in argv[:3]):
        print(
            "usage: python -m custody.images.ewf_pipe BLOCK_SIZE WORKER WORKERS SEGMENT…",
            file=sys.stderr,
        )
        return 2
    return _write_media(int(argv[0]), int(argv[1]), int(argv[2]), argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
