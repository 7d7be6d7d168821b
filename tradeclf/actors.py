"""The actor table: names, organisations and role nouns with a country and a role, as event coders use them.

Why: a bag of n-grams cannot know that the IMF is an international body or that Geng Shuang speaks for
China; an actor dictionary does. The table starts from the Phoenix / PETRARCH dictionaries (MIT; see
data/actors/LICENSE-phoenix.txt) and tradeclf's additions for 2016-2026, and a user can add lines for their
own domain. Each line is `phrase<TAB>code`: a code is a country (ISO alpha-3, e.g. CHN) followed by roles
(GOV, LEG, BUS, MED, ...), an international code (IGO..., NGO..., MNC...), or `~ROLE` for a role noun
("spokesman", "economist") that takes the country named beside it or in the sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError

TABLE_FILES = ("phoenix_actors.tsv", "phoenix_agents.tsv", "additions.tsv")  # later files win
MAX_WORDS = 8
CODE = re.compile(r"^~?[A-Z]{3}[A-Z0-9]*$")
# The roles tradeclf reports; Phoenix has finer ones, folded into these.
ROLE_OF = {"GOV": "GOV", "ELI": "GOV", "MIL": "GOV", "COP": "GOV", "JUD": "GOV", "SPY": "GOV", "PTY": "GOV",
           "LEG": "LEG", "MED": "MED", "BUS": "BUS", "AGR": "AGR", "EDU": "EDU", "LAB": "NGO", "NGO": "NGO",
           "IGO": "IGO", "MNC": "BUS", "OPP": "OTH", "REB": "OTH", "CVL": "OTH", "OTH": "OTH", "JNT": "JNT"}
COUNTRY_WORDS = re.compile(r"^[A-Z]{3}$")
_WORD = re.compile(r"[\w][\w.'\-&]*")
_NOT_COUNTRIES = {"IGO", "NGO", "MNC", "GOV", "LEG", "MED", "BUS", "EDU", "AGR", "OTH", "JNT"}
_ALONE = ("JNT", "OTH", "BUS", "EDU", "AGR", "MED", "NGO")  # codes that are a role with no country


@dataclass(frozen=True)
class Actor:
    """One table entry that typed a source: the phrase matched, its raw code, and the type it gives."""

    phrase: str
    code: str
    country: str | None
    role: str | None

    @property
    def type(self) -> str | None:
        if self.role is None and self.country is None:
            return None
        return f"{self.country or ''}{self.role or ''}" or None


def parse_code(code: str) -> tuple[str | None, str | None]:
    """(country, role) of a Phoenix-style code: CHNGOV -> (CHN, GOV), IGOBUSIMF -> (None, IGO),
    MNCUSA -> (USA, BUS), ~EDU -> (None, EDU), JPN -> (JPN, None)."""
    body = code.lstrip("~")
    head, rest = body[:3], body[3:]
    if head in ("IGO", "NGO"):
        return None, head
    if head == "MNC":
        return (rest[:3] if len(rest) >= 3 and rest[:3] not in _NOT_COUNTRIES else None), "BUS"
    if code.startswith("~"):
        return None, ROLE_OF.get(head, "OTH")
    if head in _ALONE and not rest:
        return None, ROLE_OF[head]
    role = None
    for k in range(0, len(rest), 3):
        role = ROLE_OF.get(rest[k:k + 3])
        if role:
            break
    return head, role


class ActorTable:
    """Phrase lookup over word sequences: longest match first; names matched only when capitalised."""

    def __init__(self, entries: dict[str, str]):
        self.entries = entries  # lowercased phrase -> code
        self._prefixes: set[str] = set()  # the first 1..n-1 words of every n-word phrase: where a match may go on
        for phrase in entries:
            words = phrase.split(" ")
            for n in range(1, len(words)):
                self._prefixes.add(" ".join(words[:n]))

    @classmethod
    def from_text(cls, text: str, where: str = "actor table") -> "ActorTable":
        entries: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 2 or not parts[0].strip() or not CODE.match(parts[1].strip()):
                raise DataError(f"{where}, line {number}: expected 'phrase<TAB>CODE' (CODE like CHNGOV, IGOWTO or ~EDU), "
                                f"got {line[:80]!r}; fix or delete the line")
            phrase = " ".join(parts[0].lower().split())
            if len(phrase.split()) > MAX_WORDS:
                raise DataError(f"{where}, line {number}: {phrase!r} has more than {MAX_WORDS} words; shorten it")
            entries[phrase] = parts[1].strip()
        return cls(entries)

    @classmethod
    def from_folder(cls, folder: Path) -> "ActorTable":
        """The table of a data folder: data/actors/*.tsv in TABLE_FILES order, then any other .tsv (sorted)."""
        return cls.from_text(read_folder_text(folder), str(folder))

    def to_text(self) -> str:
        return "\n".join(f"{p}\t{c}" for p, c in sorted(self.entries.items())) + "\n"

    def matches(self, text: str) -> list[tuple[int, int, Actor]]:
        """Non-overlapping (start, end, actor) matches in `text`, longest first, left to right.

        Entries with a country or an organisation code match only capitalised words or acronyms (so
        "turkey" or "chad" in running text are not countries); role nouns (~ codes) match any case.
        """
        words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
        lowered = [w[2].lower() for w in words]
        entries, prefixes = self.entries, self._prefixes
        out: list[tuple[int, int, Actor]] = []
        i = 0
        while i < len(words):
            best = None
            phrase = ""
            for n in range(1, len(words) - i + 1):  # grow the phrase while some entry starts with it
                phrase = lowered[i] if n == 1 else f"{phrase} {lowered[i + n - 1]}"
                code = entries.get(phrase) or entries.get(phrase.rstrip(".'"))
                if code is None and phrase.endswith("'s"):
                    code = entries.get(phrase[:-2])
                if code is not None and (code.startswith("~") or any(w[2][0].isupper() for w in words[i:i + n])):
                    best = (n, code, phrase)
                if phrase not in prefixes:
                    break
            if best is None:
                i += 1
                continue
            n, code, phrase = best
            country, role = parse_code(code)
            out.append((words[i][0], words[i + n - 1][1], Actor(phrase, code, country, role)))
            i += n
        return out


def read_folder_text(folder: Path) -> str:
    """The concatenated table files of a data folder's actors/ directory (empty when there is none)."""
    directory = Path(folder) / "actors"
    if not directory.is_dir():
        return ""
    files = [directory / name for name in TABLE_FILES if (directory / name).is_file()]
    files += sorted(p for p in directory.glob("*.tsv") if p.name not in TABLE_FILES)
    parts = []
    for path in files:
        try:
            parts.append(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    return "\n".join(parts)
