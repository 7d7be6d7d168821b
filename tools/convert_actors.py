"""Convert the Phoenix / PETRARCH actor and agent dictionaries (../shared/actors, MIT) into tradeclf's
actor table: one `phrase<TAB>code` line per name, so a user can read, diff and extend it.

Why a conversion: the dictionaries' syntax (synonym blocks, date-restricted codes on tab lines, !PERSON!
macros) is for a parser we do not ship. Each name keeps the code of its most recent role (tradeclf does
not know an article's date for certain, and trade news is mostly recent). Run from the repository root:
    python tools/convert_actors.py ../shared/actors data/actors
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ACTOR_FILES = ("Phoenix.Countries.actors.txt", "Phoenix.International.actors.txt", "Phoenix.MilNonState.actors.txt")
CODE = re.compile(r"\[([~A-Z0-9]*)\s*([<>0-9\-]*)\]")
MAX_WORDS = 6


def phrase_of(raw: str) -> str:
    return " ".join(w for w in raw.replace("_", " ").split()).lower()


def latest(codes: list[tuple[str, str]]) -> str | None:
    """The code of the most recent role: an open-ended '>date' or the latest end date; undated is the default."""
    if not codes:
        return None

    def key(item: tuple[str, str]) -> tuple[int, int]:
        dates = item[1]
        if not dates:
            return (0, 0)
        if dates.startswith(">"):
            return (2, _year(dates[1:]))
        if dates.startswith("<"):
            return (1, _year(dates[1:]))
        return (1, _year(dates.split("-")[-1]))

    dated = [c for c in codes if c[1]]
    best = max(dated, key=key) if dated else codes[0]
    return best[0] or None


def _year(date: str) -> int:
    """Phoenix dates are YYMMDD (before 2000 when YY > 30) or YYYYMMDD."""
    date = re.sub(r"\D", "", date)
    if len(date) < 2:
        return 0
    if len(date) == 8:
        return int(date)
    yy = int(date[:2])
    return (1900 + yy if yy > 30 else 2000 + yy) * 10000 + int(date[2:] or 0)


def convert_actors(path: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    block: list[str] = []
    codes: list[tuple[str, str]] = []

    def flush() -> None:
        code = latest(codes)
        if code:
            for name in block:
                if name and len(name.split()) <= MAX_WORDS:
                    table.setdefault(name, code)
        block.clear()
        codes.clear()

    for line in path.read_text(encoding="latin-1").splitlines():
        body = line.split("#", 1)[0].rstrip()
        if not body.strip():
            continue
        if body.startswith(("\t", " ")) and body.strip().startswith("["):
            codes.extend(CODE.findall(body))
            continue
        if body.startswith("+"):
            text = CODE.sub("", body[1:])
            block.append(phrase_of(text))
            codes.extend(CODE.findall(body))
            continue
        flush()
        block.append(phrase_of(CODE.sub("", body)))
        codes.extend(CODE.findall(body))
    flush()
    return table


def convert_agents(path: Path) -> dict[str, str]:
    macros: dict[str, list[str]] = {}
    table: dict[str, str] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        macro = re.match(r"^(!\w+!)\s*=\s*(.+)$", body)
        if macro:
            macros[macro.group(1)] = [w.strip() for w in macro.group(2).split(",")]
            continue
        found = CODE.search(body)
        if not found or not found.group(1).startswith("~"):
            continue
        names = [CODE.sub("", body).strip()]
        for key, values in macros.items():
            names = [n.replace(key, v) if key in n else n for n in names for v in (values if key in n else [None])]
        for name in names:
            phrase = phrase_of(name)
            if phrase and len(phrase.split()) <= MAX_WORDS:
                table.setdefault(phrase, found.group(1))
    return table


def write(table: dict[str, str], path: Path, header: str) -> None:
    lines = [header] + [f"{phrase}\t{code}" for phrase, code in sorted(table.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    actors: dict[str, str] = {}
    for name in ACTOR_FILES:
        for phrase, code in convert_actors(source / name).items():
            actors.setdefault(phrase, code)
    agents = convert_agents(source / "Phoenix.agents.txt")
    note = ("# Converted by tools/convert_actors.py from the Phoenix/PETRARCH2 dictionaries (openeventdata/petrarch2, "
            "commit 676801cd9cb2), MIT licence: see LICENSE-phoenix.txt. phrase<TAB>code")
    write(actors, target / "phoenix_actors.tsv", note)
    write(agents, target / "phoenix_agents.tsv", note)
    shutil.copyfile(source / "LICENSE", target / "LICENSE-phoenix.txt")
    print(f"{len(actors)} actor phrases, {len(agents)} agent phrases -> {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
