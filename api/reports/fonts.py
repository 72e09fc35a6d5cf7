"""Noto Sans SC for the PDF, subset once per process and reused.

The packaged font (``justmytype_intl_cjk``) is a 17 MB *variable* font whose default
instance is Thin; instantiating all of it takes seconds. So it is subset to the characters
needed, pinned to Regular (400) and Bold (700) with fontTools, and the two small static
fonts are kept in a per-process folder. A later document reuses them while its characters
are covered; only new characters (say, a rare name) make a new subset, of everything seen so
far, so the work is done about once per process. fpdf2 subsets again to what each document
uses when it embeds the font (``/FontFile2``).
"""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

FONT_PACKAGE = "justmytype_intl_cjk"
FONT_RESOURCE = ("fonts", "ofl", "notosanssc", "NotoSansSC[wght].ttf")
FONT_FAMILY = "NotoSansSC"
MAX_CHARACTERS = 4000  # beyond this a new subset starts afresh rather than growing

# Latin, punctuation and the CJK marks every report uses
BASE_CHARACTERS = frozenset(range(0x20, 0x7F)) | frozenset(
    ord(c) for c in "—–•·★…“”‘’：，。、；（）《》「」【】〔〕/ ＿_×"
)


@dataclass(frozen=True)
class FontFiles:
    """A static Regular and Bold subset, and the characters they cover."""

    regular: Path
    bold: Path
    characters: frozenset[int]
    generation: int


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: FontFiles | None = None
        self.folder: Path | None = None
        self.generations = 0

    def _dir(self) -> Path:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="custody-fonts-"))
            atexit.register(shutil.rmtree, self.folder, True)
        return self.folder

    def fonts_for(self, characters: frozenset[int]) -> FontFiles:
        with self.lock:
            current = self.current
            if current is not None and characters <= current.characters:
                return current
            wanted = BASE_CHARACTERS | characters
            if current is not None and len(current.characters | wanted) <= MAX_CHARACTERS:
                wanted |= current.characters
            self.generations += 1
            regular, bold = _static_fonts(wanted, self._dir(), self.generations)
            self.current = FontFiles(
                regular=regular, bold=bold, characters=wanted, generation=self.generations
            )
            return self.current


_CACHE = _Cache()


def characters(texts: Iterable[str]) -> frozenset[int]:
    """The code points the texts use (line breaks and tabs are layout, not glyphs)."""
    chars: set[int] = set()
    for text in texts:
        chars.update(ord(c) for c in text if c not in "\n\r\t")
    return frozenset(chars)


def fonts_for(chars: frozenset[int]) -> FontFiles:
    """Static fonts covering ``chars``: the cached ones when they do, else a new subset."""
    return _CACHE.fonts_for(chars)


def _static_fonts(unicodes: frozenset[int], out_dir: Path, generation: int) -> tuple[Path, Path]:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    resource = files(FONT_PACKAGE).joinpath(*FONT_RESOURCE)
    with as_file(resource) as font_path:
        font = TTFont(str(font_path), lazy=True, recalcTimestamp=False)
        options = subset.Options()
        options.layout_features = []  # no shaping needed for CJK and Latin
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.hinting = False
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=set(unicodes))
        subsetter.subset(font)
    paths = []
    for weight, name in ((400, "regular"), (700, "bold")):
        static = instancer.instantiateVariableFont(
            font, {"wght": weight}, static=True, updateFontNames=True
        )
        buffer = io.BytesIO()
        static.save(buffer)
        path = out_dir / f"{FONT_FAMILY}-{generation}-{name}.ttf"
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths[0], paths[1]
