"""Who said it: the attributed source of each sentence, found by reporting-clause rules and typed by the actor table.

Why rules: reporting clauses in news are few and regular ("X said", "said X", "according to X", "X told
reporters", "in a statement, X warned"), and measured against the gold spans in data/ these rules are
fast (microseconds a sentence) and accurate enough to feed the speaker head, which still decides. A quote
without an attribution takes the source of its neighbour; pronouns and short forms ("he", "the ministry",
"Mr. Amari") take the last matching named source earlier in the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from .actors import Actor, ActorTable

VERBS = ("said says say told tells added adds warned warns stated noted notes argued argues insisted insists stressed "
         "stresses emphasized emphasised claimed claims announced announces explained urged urges wrote writes declared "
         "acknowledged admitted denied denies welcomed welcomes criticized criticised slammed blasted complained vowed vows "
         "pledged threatened threatens predicted predicts suggested believes believe expects expect hopes remarked "
         "commented tweeted posted asserted reiterated cautioned countered conceded confirmed confirms reported report "
         "reports cited indicated indicate indicates expressed accused accuses responded replied praised rejected "
         "estimated estimates observed maintained contended recalled agreed disagreed called described describes dismissed "
         "promised regarded quoted exclaimed asked pointed hailed hails warn note argue insist stress claim urge predict "
         "caution cautions blamed blames repeated repeats signaled signalled signals acknowledges maintains "
         "contends announced declares described").split()
VERBS = list(dict.fromkeys(VERBS))


def _prefix_tree(words: Sequence[str]) -> str:
    """A regex alternation of `words` written as a prefix tree ("sa(?:id|ys|y?)..."): the engine rejects most
    positions on their first letter instead of trying every word (the same matches, about 2x faster)."""
    tree: dict = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        if len(branches) == 1 and "" not in node:
            return branches[0]
        return "(?:" + "|".join(branches) + ")" + ("?" if "" in node else "")

    return pattern(tree)


# no leading \b: a pattern that starts with letters lets the engine skip ahead by its first-letter set;
# the word boundary before the verb is checked on each hit instead (_verbs)
_VERB = re.compile("(" + _prefix_tree(VERBS) + r")\b")


def _verbs(text: str):
    r"""Reporting verbs in `text` as whole words (what \b(said|says|...)\b finds)."""
    for match in _VERB.finditer(text):
        start = match.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
            yield match


_ACCORDING = re.compile(r"\baccording to\s+", re.IGNORECASE)
_QUOTE_CHARS = "\"“”"
_OPENERS = ("and", "but", "while", "as", "also", "meanwhile", "however", "separately", "instead", "still", "yet", "so",
            "then", "now", "later", "earlier", "previously", "although", "though", "because", "after", "since", "when")
_CONNECTIVES = re.compile(r"\s(as|while|and|but|after|when|because|since|before|though|although|where|until)\s", re.IGNORECASE)
_TRAILING = re.compile(r"(\s+(has|have|had|will|would|was|were|is|are|also|reportedly|allegedly|previously|repeatedly|recently|later|earlier|"
                       r"separately|then|again|once|often|publicly|privately|not|never|already|long|first|"
                       r"on (monday|tuesday|wednesday|thursday|friday|saturday|sunday|twitter|x|truth social)|"
                       r"(last|this|next) (week|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
                       r"in an? (statement|interview|speech|letter|post|briefing|note|report|tweet)|"
                       r"at an? (news|press) conference|at an? (briefing|hearing|event|rally|summit)|"
                       r"yesterday|today|tonight|late \w+day|early \w+day|"
                       r"(continued|continue|continues|declined|refused|was quick|were quick|appeared|went on|had yet|"
                       r"have yet|has yet) to))+$", re.IGNORECASE)
_STOP_AFTER = re.compile(r"\s+(on|in|at|during|after|before|when|while|as|to|told|adding|according|last|this|earlier|"
                         r"yesterday|today|who|which|that|but|and said|in a)\b|[.;:!?\"“”(]|,\s+(adding|saying|who|which|when)\b",
                         re.IGNORECASE)
PRONOUNS = {"he", "she", "they", "it", "him", "her", "them"}
_DETERMINERS = {"the", "a", "an", "some", "one", "other", "many", "several", "two", "three", "most", "his", "her",
                "this", "these", "those", "another", "each", "all", "local", "foreign", "former",
                "its", "their", "both", "few", "senior", "top", "chinese", "american", "u.s.", "us", "european"}
_ARTICLES = {"the", "a", "an", "its", "their", "his", "her"}
_TITLE = re.compile(r"^(mr|mrs|ms|dr|prof)\.?\s+([A-Z][\w\-']+)", re.IGNORECASE)
MAX_SOURCE_WORDS = 14
# "Myron Brilliant, executive vice president and head of international affairs at the US Chamber of Commerce,
# said": a name with an appositive may run longer than a bare subject, if the name itself is short
MAX_APPOSITIVE_WORDS = 26
MAX_NAME_WORDS = 6


@dataclass(frozen=True)
class Source:
    """An attributed source: the mention's text and offsets inside sentence `sentence` (an index into the
    sentences given), its type from the actor table (e.g. CHNGOV, IGO, EDU; None when untyped), the
    reporting verb, how it was found, the actor entry that typed it, and the fuller mention it refers to."""

    text: str
    start: int
    end: int
    sentence: int
    type: str | None
    verb: str | None
    how: str  # clause, inverted, according, quote, pronoun
    actor: Actor | None = None
    refers_to: str | None = None

    def to_dict(self, offset: int = 0) -> dict:
        """JSON-able form; `offset` is the start of the mention's sentence in the article."""
        return {"text": self.text, "start": self.start + offset, "end": self.end + offset, "type": self.type}


def find_mentions(sentences: Sequence[str], table: ActorTable) -> list[Source | None]:
    """The source each sentence names itself (no neighbours, no resolution)."""
    return [_own_mention(text, i, table) for i, text in enumerate(sentences)]


def attribute(sentences: Sequence[str], table: ActorTable, in_article: bool = True) -> list[Source | None]:
    """The attributed source of each sentence of one article (or of each lone sentence when not in_article)."""
    own = find_mentions(sentences, table)
    if not in_article:
        return own
    out: list[Source | None] = []
    named: list[Source] = []  # named sources so far, newest last
    last_tag: Source | None = None
    cache: dict[str, str | None] = {}
    for i, text in enumerate(sentences):
        source = own[i]
        if source is not None:
            source = _resolve(source, named, text, table)
            if source.type is None:
                source = _type_from_earlier(source, sentences[:i], table)
            if source.type in ("GOV", "LEG"):  # "the President", "officials": the country the article is about
                country = _article_country(sentences, table, cache)
                if country:
                    source = replace(source, type=country + source.type,
                                     actor=replace(source.actor, country=country) if source.actor else None)
            if _is_named(source):
                named.append(source)
            last_tag = source if source.how == "tag" else None
        elif last_tag is not None and i - last_tag.sentence <= TAG_REACH and not _TAG.match(text):
            source = replace(last_tag, how="tag")
        elif _has_quote(text):
            previous = out[i - 1] if i > 0 else None
            following = own[i + 1] if i + 1 < len(sentences) else None
            if previous is not None and _has_quote(sentences[i - 1]):
                source = replace(previous, how="quote")
            elif following is not None:
                source = replace(_resolve(following, named, sentences[i + 1], table), how="quote")
        out.append(source)
    return out


def attribute_articles(texts: Sequence[str], article_ids: Sequence | None, table: ActorTable) -> list[Source | None]:
    """attribute() over consecutive runs of the same article id (each sentence alone when ids are None);
    mention sentence indices are positions in `texts`."""
    if article_ids is None:
        return attribute(texts, table, in_article=False)
    out: list[Source | None] = []
    start = 0
    n = len(texts)
    while start < n:
        end = start + 1
        while end < n and article_ids[end] == article_ids[start]:
            end += 1
        for source in attribute(texts[start:end], table):
            out.append(None if source is None else replace(source, sentence=source.sentence + start))
        start = end
    return out


def source_tokens(source: Source | None) -> list[str]:
    """The features a source gives the heads that use it: presence, type, country, role, verb, how, words."""
    if source is None:
        return ["src:none"]
    tokens = ["src:yes", f"how:{source.how}", f"type:{source.type or 'unknown'}"]
    if source.verb:
        tokens.append(f"verb:{source.verb}")
    actor = source.actor
    if actor is not None:
        if actor.role:
            tokens.append(f"role:{actor.role}")
        if actor.country:
            tokens.append(f"country:{actor.country}")
            tokens.append("country:" + ("USA" if actor.country == "USA" else "CHN" if actor.country == "CHN" else "third"))
        if actor.country and actor.role:
            tokens.append(f"party:{'USA' if actor.country == 'USA' else 'CHN' if actor.country == 'CHN' else 'third'}{actor.role}")
    words = re.findall(r"[a-z][a-z\-']+", (source.refers_to or source.text).lower())
    tokens.extend(f"w:{w}" for w in dict.fromkeys(words[:MAX_SOURCE_WORDS]))
    return tokens


# -- finding the mention in one sentence ----------------------------------------------------------------
def _own_mention(text: str, index: int, table: ActorTable) -> Source | None:
    tag = _TAG.match(text)
    if tag and tag.group(1).strip(" .") not in _NOT_TAGS:
        start, end = tag.start(1), tag.end(1)
        return _typed(Source(text[start:end], start, end, index, None, None, "tag"), text, table)
    found = _according(text) or _clause(text)
    if found is None:
        return None
    start, end, verb, how = found
    return _typed(Source(text[start:end], start, end, index, None, verb, how), text, table)


def _according(text: str) -> tuple[int, int, str | None, str] | None:
    match = _ACCORDING.search(text)
    if not match:
        return None
    start = match.end()
    stop = _STOP_AFTER.search(text, start + 1)
    comma = text.find(",", start)
    if comma != -1 and (stop is None or comma < stop.start()):
        stop = re.compile(",").search(text, comma)
    end = stop.start() if stop else len(text)
    end = _trim_end(text, start, end)
    if end <= start or len(text[start:end].split()) > MAX_SOURCE_WORDS:
        return None
    return start, end, "according", "according"


def _clause(text: str) -> tuple[int, int, str, str] | None:
    for match in _verbs(text):
        verb = match.group(1)
        if verb == "called" and (text[match.end():].lstrip().startswith(("off", "up")) or text[:match.start()].endswith("so-")):
            continue
        before = text[: match.start()]
        inverted = _inverted(text, match)
        if inverted:
            return (*inverted, verb, "inverted")
        found = _subject(before)
        if found:
            return (*found, verb, "clause")
    return None


def _inverted(text: str, match: re.Match) -> tuple[int, int] | None:
    """'"...," said Wang Wentao, China's commerce minister.' -> the phrase after the verb."""
    before = text[: match.start()].rstrip()
    if not before or before[-1] not in ",\"”'’" or (before[-1] == "," and not _has_quote(before)):
        return None
    rest = text[match.end():]
    lead = len(rest) - len(rest.lstrip())
    start = match.end() + lead
    if start >= len(text) or not (text[start].isupper() or text[start:].split(" ", 1)[0].lower() in _DETERMINERS | PRONOUNS):
        return None
    stop = _STOP_AFTER.search(text, start + 1)
    end = stop.start() if stop else len(text)
    end = _trim_end(text, start, end)
    if end <= start or len(text[start:end].split()) > MAX_SOURCE_WORDS:
        return None
    return start, end


def _subject(before: str) -> tuple[int, int] | None:
    """The noun phrase just before a reporting verb, from the last clause boundary."""
    cut = max(before.rfind(c) for c in _QUOTE_CHARS + ";:(")
    for marker in (" that ", " because ", " if ", " whether "):
        cut = max(cut, before.rfind(marker) + len(marker) - 1 if marker in before else -1)
    start = cut + 1
    segment = before[start:]
    stripped = segment.rstrip()
    if not stripped:
        return None
    appositive = stripped.endswith(",")
    pieces = stripped.rstrip(",").split(",")
    if appositive and len(pieces) >= 2:  # "Ding Ding, a senior economist with the IMF, said"
        chosen = ",".join(pieces[-2:])
    else:
        chosen = pieces[-1]
    offset = start + len(stripped.rstrip(",")) - len(chosen)
    phrase = chosen
    lead = len(phrase) - len(phrase.lstrip())
    offset += lead
    phrase = phrase.strip()
    words = phrase.split()
    while words and words[0].lower() in _OPENERS:  # "and Lighthizer said" -> "Lighthizer"
        offset += len(phrase) - len(phrase[len(words[0]):].lstrip())
        phrase = phrase[len(words[0]):].lstrip()
        words = phrase.split()
    end = offset + len(phrase)
    text = before
    end = _trim_end(text, offset, end)
    phrase = text[offset:end]
    words = phrase.split()
    named_appositive = appositive and len(pieces) >= 2 and len(pieces[-2].split()) <= MAX_NAME_WORDS
    if not words or len(words) > (MAX_APPOSITIVE_WORDS if named_appositive else MAX_SOURCE_WORDS):
        return None
    if len(words) > 6 and not appositive:  # a long clause: the source is what follows its last connective, if short
        tail = list(_CONNECTIVES.finditer(phrase))
        if not tail or len(phrase[tail[-1].end():].split()) > 6:
            return None
        offset += tail[-1].end()
        words = phrase[tail[-1].end():].split()
    if not words:
        return None
    first = words[0]
    if not (first[0].isupper() or first.lower() in _DETERMINERS or first.lower() in PRONOUNS or _role_noun_phrase(words)):
        return None
    if first.lower() in PRONOUNS and len(words) > 1:
        return None
    if len(words) == 1 and first.lower() in _ARTICLES:
        return None  # "The reported progress": a bare article is an adjective's, not a speaker ("Some said" stays)
    if first.lower() in _NOT_SUBJECTS or (first.lower() in ("this", "these") and len(words) > 1 and words[1].lower() in _DOCUMENTS):
        return None  # "I said" inside a quote, "There are", "This notice announces": not an attributed source
    return offset, end


def _role_noun_phrase(words: list[str]) -> bool:
    """Short lowercase subjects that name a source by role: 'analysts', 'economists at banks', 'officials'."""
    return len(words) <= 4 and words[-1].lower().strip(",") in _ROLE_NOUNS


_NOT_SUBJECTS = {"i", "we", "you", "there", "here", "what", "which", "who", "when", "if", "it's", "that"}
_DOCUMENTS = {"notice", "document", "rule", "order", "proclamation", "memorandum", "action", "section", "part", "final",
              "interim", "agreement", "fact", "statement"}
_TAG = re.compile(r"^\s*(?:[-–—]\s*)?((?:MR\.|MS\.|MRS\.|DR\.)?\s*[A-Z][A-Z.'\- ]{1,40}[A-Z.])\s*:\s+")
_NOT_TAGS = {"Q", "A", "QUESTION", "ANSWER", "NOTE", "END", "MODERATOR", "OPERATOR", "AND", "THE"}
TAG_REACH = 3  # sentences after a transcript speaker tag that keep its speaker (as annotators marked them)
_ROLE_NOUNS = {"analysts", "analyst", "economists", "economist", "officials", "official", "experts", "expert",
               "executives", "executive", "contacts", "farmers", "lawmakers", "critics", "investors", "negotiators",
               "diplomats", "observers", "sources", "businesses", "firms", "companies", "respondents", "manufacturers",
               "retailers", "exporters", "importers", "strategists", "traders", "people", "spokesman", "spokeswoman",
               "spokesperson", "ministry", "government", "groups", "others", "participants", "reports", "scholars"}


def _trim_end(text: str, start: int, end: int) -> int:
    phrase = text[start:end].rstrip(" ,")
    trimmed = _TRAILING.sub("", phrase)
    return start + len(trimmed.rstrip(" ,"))


def _has_quote(text: str) -> bool:
    return any(c in text for c in _QUOTE_CHARS)


# -- typing and resolution ------------------------------------------------------------------------------
def _typed(source: Source, sentence: str, table: ActorTable) -> Source:
    """Type a mention from the actor table: a named actor with a role wins; a role noun takes the country
    named in the mention, else the first country named in the sentence."""
    matches = table.matches(source.text)
    named = [a for _, _, a in matches if not a.code.startswith("~") and a.role]
    countries = [a.country for _, _, a in matches if a.country]
    roles = [a for _, _, a in matches if a.code.startswith("~")]
    if named:
        best = named[0]
        if best.role == "IGO" or best.country:
            return replace(source, type=best.type, actor=best)
        country = countries[0] if countries else None
        return replace(source, type=f"{country or ''}{best.role}", actor=Actor(best.phrase, best.code, country, best.role))
    if roles:
        role = roles[-1]  # the head noun comes last: "Chinese commerce ministry spokesman"
        country = countries[0] if countries else _sentence_country(sentence, source, table)
        if role.role in ("EDU", "BUS", "AGR", "MED") and not countries:
            country = None  # analysts and firms do not take the country of the sentence's topic
        return replace(source, type=f"{country or ''}{role.role}", actor=Actor(role.phrase, role.code, country, role.role))
    if countries:
        rest = [w for w in re.findall(r"[\w'.\-]+", source.text) if w.lower() not in _DETERMINERS and w.lower() != "the"]
        if len(rest) <= 1:  # "China said", "Japan warned", "the U.S. said": a country speaking is its government
            return replace(source, type=f"{countries[0]}GOV", actor=Actor(source.text.lower(), countries[0], countries[0], "GOV"))
        return replace(source, actor=Actor(source.text.lower(), countries[0], countries[0], None))  # "U.S. automakers": country only
    return source


def _sentence_country(sentence: str, source: Source, table: ActorTable) -> str | None:
    for _, _, actor in table.matches(sentence):
        if actor.country and not actor.code.startswith("~"):
            return actor.country
    return None


def _article_country(sentences: Sequence[str], table: ActorTable, cache: dict[str, str | None]) -> str | None:
    """The country named most often in the article (first named on ties), computed once per article."""
    if "country" not in cache:
        counts: dict[str, int] = {}
        for text in sentences:
            for _, _, actor in table.matches(text):
                if actor.country and not actor.code.startswith("~"):
                    counts[actor.country] = counts.get(actor.country, 0) + 1
        cache["country"] = max(counts, key=counts.__getitem__) if counts else None
    return cache["country"]


def _type_from_earlier(source: Source, earlier: Sequence[str], table: ActorTable) -> Source:
    """An untyped name ("Trudeau", "Mr. Amari") typed by the words around its first full mention earlier in the
    article ("Canadian Prime Minister Justin Trudeau")."""
    words = [w for w in re.findall(r"[A-Z][\w'\-]+", source.text) if w.lower() not in ("mr", "ms", "mrs", "dr")]
    if not words:
        return source
    surname = words[-1]
    for text in earlier:
        at = re.search(r"\b" + re.escape(surname) + r"\b", text)
        if not at:
            continue
        window_start = max(0, text.rfind(".", 0, max(0, at.start() - 60)) + 1, at.start() - 60)
        window = text[window_start: at.end() + 60]
        typed = _typed(replace(source, text=window), text, table)
        if typed.type is not None:
            return replace(source, type=typed.type, actor=typed.actor, refers_to=text[window_start: at.end()].strip())
        break
    return source


def _is_named(source: Source) -> bool:
    words = source.text.split()
    return bool(words) and words[0].lower() not in PRONOUNS and any(w[0].isupper() for w in words)


def _resolve(source: Source, named: list[Source], sentence: str, table: ActorTable) -> Source:
    """Pronouns and short forms take the type of the last matching named source before them."""
    if not named:
        return source
    words = source.text.split()
    lowered = source.text.lower()
    antecedent = None
    if lowered in PRONOUNS:
        antecedent = named[-1]
    else:
        title = _TITLE.match(source.text)
        surname = title.group(2) if title else (words[0] if len(words) == 1 and words[0][0].isupper() else None)
        if surname:
            antecedent = next((s for s in reversed(named) if surname in s.text.split() and s.text != source.text), None)
        elif words and words[0].lower() == "the" and len(words) <= 4 and not any(w[0].isupper() for w in words[1:]):
            head = words[-1].lower()
            antecedent = next((s for s in reversed(named) if head in s.text.lower()), None)
    if antecedent is None:
        return source
    return replace(source, type=antecedent.type, actor=antecedent.actor, refers_to=antecedent.text,
                   how="pronoun" if source.how != "quote" else "quote")


def source_matrix(token_lists: Sequence[list[str]], index: dict[str, int], n_columns: int, weight: float):
    """Indicator rows of each sentence's source tokens (columns from `index`), L2-normalised, times `weight`.

    One function for training and the compiled predictor, so both build the same numbers."""
    import numpy as np
    from scipy import sparse

    cols: list[int] = []
    indptr = [0]
    for tokens in token_lists:
        cols.extend(sorted({index[t] for t in tokens if t in index}))
        indptr.append(len(cols))
    counts = np.diff(indptr)
    values = np.repeat(np.where(counts > 0, weight / np.sqrt(np.maximum(counts, 1)), 0.0), counts).astype(np.float32)
    return sparse.csr_matrix((values, np.asarray(cols, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                             shape=(len(token_lists), n_columns))
