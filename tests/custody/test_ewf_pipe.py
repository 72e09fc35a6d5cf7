"""libewf in child processes (custody.images.ewf_pipe), against md5sum and ewfverify.

Blocks are read round-robin from two children, so the order of the media is what is
checked here; a corrupted chunk and a truncated segment must fail naming the media level.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from custody.errors import ImageError
from custody.images import ewf_pipe, ewf_reader
from tests.images.ewfimages import acquire, ewfverify, flip_byte_in_chunk, md5sum

BLOCK = 64 * 1024  # many blocks per child, so a swap of two would show


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_media_from_children_in_order_equals_md5sum_of_the_raw_disk(
    tmp_path: Path, workers: int
) -> None:
    img = acquire(tmp_path, segment_size="1MiB", compression="deflate:best", size=8 << 20)
    assert len(img.segments) >= 3
    size = img.raw.stat().st_size
    md5 = hashlib.md5()
    for block in ewf_pipe.media_blocks([str(p) for p in img.segments], size, BLOCK, workers):
        md5.update(block)
    assert md5.hexdigest() == md5sum(img.raw) == ewfverify(img.segments[0])[1]


def test_read_ewf_takes_the_process_path_for_large_media(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    img = acquire(tmp_path, compression="deflate:fast")
    monkeypatch.setattr(ewf_reader, "PIPE_FROM", 0)
    started = []
    real = ewf_pipe.media_blocks

    def spy(*args: object, **kwargs: object) -> object:
        started.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ewf_pipe, "media_blocks", spy)
    media = ewf_reader.read_ewf(lambda: [str(img.segments[0])], ["sha256"], block_size=BLOCK)
    assert started, "the child-process reader was not used"
    assert media.digests["sha256"] == img.sha256
    assert media.digests["md5"] == media.stored_digests["md5"] == img.md5


def test_attack_flipped_byte_in_a_compressed_chunk_changes_the_media_read(
    tmp_path: Path,
) -> None:
    """libewf does not stop at a bad chunk's checksum; the media it hands back differs,
    which the media-level comparison with image.digests then reports."""
    img = acquire(tmp_path, compression="deflate:best")
    flip_byte_in_chunk(img.segments[0])
    size = img.raw.stat().st_size
    md5 = hashlib.md5()
    for block in ewf_pipe.media_blocks([str(img.segments[0])], size, BLOCK, 2):
        md5.update(block)
    assert md5.hexdigest() != img.md5


def test_truncated_segment_fails_at_the_media_level(tmp_path: Path) -> None:
    img = acquire(tmp_path, segment_size="1MiB")
    last = img.segments[-1]
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    size = img.raw.stat().st_size
    with pytest.raises(ImageError) as raised:
        for _ in ewf_pipe.media_blocks([str(p) for p in img.segments], size, BLOCK, 2):
            pass
    assert raised.value.message.startswith("media: ")
