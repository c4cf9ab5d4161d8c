"""Count holds and rejections of the shipped rules on real-world corpora (run on two checkouts
to compare: `PYTHONPATH=<checkout> python bench/corpus_holds.py`)."""

from __future__ import annotations

import inspect
import sys
from collections import Counter
from pathlib import Path

from gateway.mail.parse import address_of, parse
from gateway.moderation.chain import evaluate
from gateway.moderation.facts import facts_from_message
from gateway.moderation.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {
    "cpython test_email": Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}."
    f"{sys.version_info.minor}" / "test" / "test_email" / "data",
    "mikel-mail": Path("/work/shared/corpus/mikel-mail"),
    "tests/data": ROOT / "tests" / "data",
}


def _privacy(raw: bytes) -> dict[str, object]:
    if "privacy" not in inspect.signature(facts_from_message).parameters:
        return {}  # an older checkout: no privacy reading
    from gateway.mail.privacy import Person, Privacy
    msg = parse(raw)
    people = [Person(address, "alias@gw.example", "", "") for address in (
        address_of(str(msg.get("From", "") or "")), address_of(str(msg.get("To", "") or "")))
        if address]
    return {"privacy": Privacy(people), "pair_aliases": ("alias@gw.example",)}


def main() -> None:
    rules = load_rules(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "relay_rules")
    for label, folder in CORPORA.items():
        files = sorted(p for p in folder.glob("**/*" if label != "tests/data" else "*")
                       if p.is_file() and p.suffix in (".eml", ".txt")) if folder.is_dir() else []
        for minor in (True, False):
            verdicts: Counter[str] = Counter()
            why: Counter[str] = Counter()
            for path in files:
                raw = path.read_bytes()
                facts = facts_from_message(raw, direction="mentor_to_mentee",
                                           recipient_is_minor=minor,
                                           **_privacy(raw))  # type: ignore[arg-type]
                decision = evaluate(rules, facts)
                verdicts[decision.verdict] += 1
                for rule in {h.rule for h in decision.hits if h.action in ("hold", "reject")}:
                    why[rule] += 1
            print(f"{label} ({'minor' if minor else 'adults'}): {len(files)} messages, "
                  f"{dict(sorted(verdicts.items()))}; rules {dict(sorted(why.items()))}")


if __name__ == "__main__":
    main()
