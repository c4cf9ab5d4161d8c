"""Map free-text interests ("médecine, jeux vidéos, aider les gens") to taxonomy field ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from gateway.matching.fold import fold, fold_tokens
from gateway.matching.taxonomy import Taxonomy

# Terms are separated by list punctuation or by "and"/"or" in either language.
_SPLIT = re.compile(r"[,;/|+\n\r•·]+|\s(?:et|and|ou|or|&)\s", re.IGNORECASE)
_LONGEST_PHRASE = 5
# Fuzzy matching only for words long enough that one typo does not make another word
# ("chanter" is one letter from "chantier").
_FUZZY_MIN_CHARS = 6
_FUZZY_CUTOFF = 88.0
_FILLER = """
    je j tu il elle on nous vous ils elles me m moi te mon ma mes son sa ses le la les l un une
    de d du des au aux a en dans par pour sur avec et ou mais que qu qui quoi ce c cette cet
    est suis etre avoir ai aime aimerai aimerais adore veux voudrais devenir faire travailler
    travail metier domaine carriere interesse interet plus tres bien beaucoup peut peu pas ne
    bonjour salut merci allo hello hi thanks i my me like love want would become be work job
    career field in the of to an for with about am is really very much some interested into
    """
_STOPWORDS = frozenset(fold(word) for word in _FILLER.split())


@dataclass(frozen=True)
class Mapped:
    """Field ids found (in order of first mention), and the terms that matched none."""

    fields: tuple[str, ...]
    unmapped: tuple[str, ...]


class InterestMapper:
    """Built once from a taxonomy; `map` is pure and cheap."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._phrases: dict[tuple[str, ...], str] = {}
        self._acronyms: dict[str, str] = {}
        for item in taxonomy.fields.values():
            for word in (item.id.replace("-", " "), item.fr, item.en, *item.synonyms):
                if word.isupper() and len(word) <= 4:
                    # RH, TI, IA, SQ: only when written in capitals, or "ai" in "j'ai" matches.
                    self._acronyms[word] = item.id
                    continue
                tokens = tuple(fold_tokens(word))
                if tokens:
                    self._phrases.setdefault(tokens, item.id)
        self._fuzzy_keys = [" ".join(key) for key in self._phrases
                            if len(" ".join(key)) >= _FUZZY_MIN_CHARS]
        self._fuzzy_ids = [self._phrases[tuple(key.split())] for key in self._fuzzy_keys]

    def map(self, text: str) -> Mapped:
        found: list[str] = []
        unmapped: list[str] = []
        for term in (part.strip(" \t.!?\"'()[]") for part in _SPLIT.split(text or "")):
            if not term:
                continue
            ids = self._term(term)
            if ids:
                found.extend(i for i in ids if i not in found)
            elif any(token not in _STOPWORDS for token in fold_tokens(term)):
                unmapped.append(term)
        return Mapped(tuple(found), tuple(unmapped))

    def _term(self, term: str) -> list[str]:
        ids = [self._acronyms[word] for word in re.findall(r"\b[A-Z]{2,4}\b", term)
               if word in self._acronyms]
        tokens = fold_tokens(term)
        used = [False] * len(tokens)
        # Longest phrase first, so "jeu video" wins over "video" and "genie civil" over "genie".
        for size in range(min(_LONGEST_PHRASE, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                if any(used[start:start + size]):
                    continue
                hit = self._phrases.get(tuple(tokens[start:start + size]))
                if hit is not None:
                    ids.append(hit)
                    used[start:start + size] = [True] * size
        for start, token in enumerate(tokens):
            if used[start] or token in _STOPWORDS or len(token) < _FUZZY_MIN_CHARS:
                continue
            for size in (2, 1):
                phrase = " ".join(tokens[start:start + size])
                best = process.extractOne(phrase, self._fuzzy_keys, scorer=fuzz.ratio,
                                          score_cutoff=_FUZZY_CUTOFF)
                if best is not None:
                    ids.append(self._fuzzy_ids[best[2]])
                    used[start:start + size] = [True] * len(phrase.split())
                    break
        return list(dict.fromkeys(ids))
