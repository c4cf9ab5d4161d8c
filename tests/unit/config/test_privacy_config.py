"""[privacy]: how participants are named to each other, and personal domains."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings


def test_first_names_by_default_and_per_role(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[privacy]\nmentor_name_shown = "full"\npersonal_domains = ["famille.ca"]\n',
                    encoding="utf-8")
    privacy = load_settings(path, env={}).privacy
    assert privacy.shown_name("Marie-Ève Tremblay", "mentor") == "Marie-Ève Tremblay"
    assert privacy.shown_name("Léa Gagnon", "mentee") == "Léa"
    assert privacy.personal_domains == ["famille.ca"]
    assert load_settings(tmp_path / "none.toml", env={}).privacy.shown_name(
        "Marie-Ève Tremblay", "mentor") == "Marie-Ève"


@pytest.mark.parametrize(("text", "expected"), [
    ('[privacy]\nname_shown = "last"\n', "line 2"),
    ('[privacy]\n\npersonal_domains = ["not a domain"]\n', "line 3"),
])
def test_bad_values_name_the_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert expected in str(info.value) and "privacy" in str(info.value)
