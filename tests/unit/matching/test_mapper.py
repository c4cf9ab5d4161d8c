"""Free-text interests to taxonomy fields: accents, synonyms, typos, and nothing silently lost."""

from __future__ import annotations

import pytest

from gateway.matching.mapper import InterestMapper
from gateway.matching.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def mapper() -> InterestMapper:
    return InterestMapper(load_taxonomy())


@pytest.mark.parametrize(("text", "fields"), [
    ("MÉDECINE", ("medicine",)),
    ("medecine; Jeux Vidéos, l'astrophysique", ("medicine", "video-games", "chemistry-physics")),
    ("Infirmières", ("nursing",)),  # plural, accent, capital
    ("I want to become a nurse", ("nursing",)),
    ("réparer des chars", ("mechanics",)),  # Québec usage
    ("travailler en TI", ("software",)),
    ("génie civil", ("engineering-civil",)),  # the longer phrase wins over "génie"
    ("informatque / psycologie", ("software", "psychology")),  # typos
    ("plomberie + soudage", ("construction-trades",)),
    ("danser et chanter", ("performing-arts", "music")),
])
def test_maps_to_field_ids_in_order_of_mention(mapper: InterestMapper, text: str,
                                               fields: tuple[str, ...]) -> None:
    assert mapper.map(text).fields == fields
    assert mapper.map(text).unmapped == ()


def test_what_cannot_be_mapped_is_reported_not_dropped(mapper: InterestMapper) -> None:
    result = mapper.map("musique, xylophone quantique; astrologie et vétérinaire")
    assert result.fields == ("music", "veterinary")
    assert result.unmapped == ("xylophone quantique", "astrologie")


def test_acronyms_only_match_in_capitals(mapper: InterestMapper) -> None:
    # "j'ai" folds to "j ai": it must not become artificial intelligence, nor "it" software.
    assert mapper.map("j'ai aucune idée, I like it").fields == ()
    assert mapper.map("l'IA et les RH").fields == ("data-ai", "human-resources")


def test_a_word_one_letter_from_another_field_is_not_fuzzed_into_it(mapper: InterestMapper) -> None:
    assert mapper.map("chanter").fields == ("music",)  # not "chantier" (construction)
    assert mapper.map("art").fields == ("visual-arts",)
    assert mapper.map("").fields == ()
    assert mapper.map("merci, bonjour!").unmapped == ()  # only filler words: nothing to report
