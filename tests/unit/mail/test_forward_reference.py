"""The forward stays byte for byte what the plain code rendered (recorded before the speed-ups of
issue 17), with the contexts the relay really passes: the own-unsubscribe-link patterns and their
word, a personal domain, real names that differ from the shown ones; over every message of
tests/data, tests/data/adversarial, the shared corpus and generated everyday messages.

    .venv/bin/python -m tests.unit.mail.test_forward_reference --record   # only on main
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path
from unittest import mock

import pytest

from gateway.config import Settings
from gateway.mail.rewrite import Party, RewriteContext, anonymize_report
from gateway.reminders.unsubscribe import OWN_LINKS_WORD, own_unsubscribe_links
from tests.unit.mail import adversarial
from tests.unit.mail.conftest import eml_names, load_eml
from tests.unit.mail.test_fast_paths import FILES, _key

DIGESTS = Path(__file__).with_name("forward_digests.json")

CONTEXTS = {
    "adversarial": RewriteContext(
        sender=Party("marc.andre@castorbleu.qc.ca", "Marc-André",
                     "m7k3q9x2abcd4e5f@mentor.example.org", real_name="Marc-André Lévesque"),
        recipient=Party("lea.t2011@courriel.example", "Léa", "q4z8t2w6yhbc3n5d@mentor.example.org",
                        real_name="Léa Tremblay"),
        program_name="Mentorat Québec", new_message_id="<gw-1@mentor.example.org>",
        in_reply_to=(), references=("<a@mentor.example.org>", "<b@mentor.example.org>"),
        fallback_date="Mon, 30 Nov 2026 15:00:00 +0000",
        private_text=(own_unsubscribe_links(Settings()),), private_text_word=OWN_LINKS_WORD,
        private_domains=("castorbleu.qc.ca",)),
    "fixtures": RewriteContext(
        sender=Party("jf.cote@work.example", "Jean-François", "m7k3q9x2abcd4e5f@mentor.example.org",
                     real_name="Jean-François Côté"),
        recipient=Party("zoe.martin@family-mail.example", "Zoé",
                        "q4z8t2w6yhbc3n5d@mentor.example.org", real_name="Zoé Martin"),
        program_name="Programme", new_message_id="<n@mentor.example.org>",
        in_reply_to=("<r@mentor.example.org>",), references=("<r@mentor.example.org>",),
        fallback_date="Tue, 01 Dec 2026 08:30:00 +0000",
        private_text=(own_unsubscribe_links(Settings()),), private_text_word=OWN_LINKS_WORD),
}

_SENTENCES = (
    "Merci pour ta réponse de la semaine passée, elle m'a beaucoup aidé à réfléchir.",
    "Thanks again for explaining how you prepared for your first job interview.",
    "Mon enseignante de chimie dit que les laboratoires sont la meilleure partie du cégep.",
    "Could you tell me more about what a normal day looks like in your job?",
    "Écris-moi à marc.andre@castorbleu.qc.ca ou à MARC.ANDRE%40castorbleu.qc.ca si besoin.",
    "Léa Tremblay et Marc-André Lévesque se sont parlé; lea.t2011@courriel.example aussi.",
    "Pour ne plus recevoir: http://127.0.0.1:8025/unsubscribe/tok-EN.1 ou UNSUBSCRIBE.",
    "Mon ami chez www.castorbleu.qc.ca dit tremblay en minuscules, et Tre\u200bmblay aussi.",
    "Ligne avec un \u00a0espace insécable, un \ufb01 ligature et un K\u212a kelvin, \u017fous.",
    "Plain ASCII sentence with jf.cote@work.example and Zoe Martin and Jean-Francois Cote.",
    "reminders+abc.def@mentor.test unsubscribe link quoted: https://m.example/unsubscribe/x",
)


def everyday(number: int) -> bytes:
    """A generated message of an ordinary shape: 8bit, quoted-printable, base64 or HTML."""
    pick = random.Random(number)
    lines = [" ".join(pick.sample(_SENTENCES, 3)) for _ in range(pick.randrange(1, 40))]
    body = "\r\n".join(["Bonjour,", "", *lines, "", "Bonne journée!", ""])
    head = (f"From: Marc <marc.andre@castorbleu.qc.ca>\r\nTo: {pick.choice(['x@y.example', 'q4z8t2w6yhbc3n5d@mentor.example.org'])}\r\n"
            f"Subject: {pick.choice(['bench', 'Réponse de Léa Tremblay', '=?utf-8?q?R=C3=A9ponse?='])}"
            f" {number}\r\nMessage-ID: <m{number}@client.example>\r\n")
    if pick.random() < 0.5:
        head += "Date: Mon, 30 Nov 2026 14:00:00 -0500\r\n"
    kind = number % 4
    if kind == 0:
        return (head + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n" + body).encode()
    if kind == 1:
        import quopri
        encoded = quopri.encodestring(body.encode()).decode()
        return (head + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded).encode()
    if kind == 2:
        import base64
        encoded = base64.encodebytes(body.encode()).decode()
        return (head + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n" + encoded).encode()
    html = "<html><body>" + "".join(f"<p>{line}</p>" for line in lines) + "</body></html>"
    return (head + "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n"
            "\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            "\r\n" + body + "\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" + html + "\r\n--b1--\r\n").encode()


GENERATED = range(120)


def cases() -> list[tuple[str, str, bytes]]:
    found = [(f"{name}:{_key(path)}", name, path.read_bytes())
             for path in FILES for name in CONTEXTS]
    found += [(f"{name}:everyday/{n}", name, everyday(n)) for n in GENERATED for name in CONTEXTS]
    with mock.patch("time.time", return_value=1_796_000_000.0):  # archives hold their date
        found += [(f"adversarial:filled/{name}", "adversarial", adversarial.load(name))
                  for name in adversarial.names()]
    found += [(f"fixtures:filled/{name}", "fixtures", load_eml(name)) for name in eml_names()]
    return found


def digest(raw: bytes, context: str) -> str:
    report = anonymize_report(raw, CONTEXTS[context])
    return hashlib.sha256(report.data + repr(report.withheld).encode()).hexdigest()


@pytest.mark.skipif(not DIGESTS.exists(), reason="no digests recorded")
def test_forwards_are_unchanged() -> None:
    expected = json.loads(DIGESTS.read_text())
    changed = [key for key, context, raw in cases()
               if key in expected and digest(raw, context) != expected[key]]
    assert changed == []
    assert len([key for key, _, _ in cases() if key in expected]) > 500


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    DIGESTS.write_text(json.dumps({key: digest(raw, context) for key, context, raw in cases()},
                                  indent=0, sort_keys=True) + "\n")
