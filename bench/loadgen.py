"""Send N numbered messages of a given size over C reused SMTP connections; note each 250's time.

Every message is distinct (its own Message-ID and text, so a de-duplicating relay keeps them all)
and reads like an ordinary mentoring exchange that passes the shipped rules. `--rate R` paces the
sends at R messages per second in all (default: as fast as the receiver answers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time

import aiosmtplib

SENTENCES = (
    "Merci pour ta réponse de la semaine passée, elle m'a beaucoup aidé à réfléchir.",
    "Je me demande encore si je devrais choisir les sciences de la nature ou les arts.",
    "Mon enseignante de chimie dit que les laboratoires sont la meilleure partie du cégep.",
    "Est-ce que tu as aimé tes premières années à l'université?",
    "J'ai commencé à lire le livre que tu m'avais conseillé, le premier chapitre est génial.",
    "Thanks again for explaining how you prepared for your first job interview.",
    "I am still not sure whether an internship or a summer course would help me more.",
    "My guidance counsellor suggested I talk to you about engineering programs.",
    "What did you find hardest when you started working in your field?",
    "Je trouve que la gestion du temps est ce qui me donne le plus de difficulté.",
    "Le cours d'histoire de cette session est plus intéressant que prévu.",
    "Could you tell me more about what a normal day looks like in your job?",
    "Mon choix de cours pour l'an prochain est presque terminé.",
    "I started reading about how bridges are designed and found it fascinating.",
    "Les examens approchent et j'essaie de faire un horaire d'étude réaliste.",
    "Do you think it is a good idea to take a gap year before university?",
    "Merci de prendre le temps de m'écrire, ça m'encourage vraiment.",
    "I liked your advice about asking teachers for feedback early in the term.",
    "Je pense m'inscrire au club de robotique de l'école cette session.",
    "What skills do you wish you had learned earlier in school?",
)


def message(number: int, sender: str, to: str, size: int) -> bytes:
    head = (f"From: {sender}\r\nTo: {to}\r\nSubject: bench {number}\r\n"
            f"Message-ID: <bench-{number}-{time.time_ns()}@client.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n")
    pick = random.Random(number)  # the same number gives the same text; each number its own
    lines: list[str] = ["Bonjour,", ""]
    while sum(len(line.encode()) + 2 for line in lines) < size - len(head) - 40:
        lines.append(" ".join(pick.sample(SENTENCES, 3)))
    lines += ["", "Bonne journée!"]
    return (head + "\r\n".join(lines) + "\r\n").encode()


async def worker(port: int, numbers: list[int], senders: list[str], tos: list[str], size: int,
                 accepted: dict[int, float], start: float, rate: float | None) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
    await client.connect()
    for number in numbers:
        if rate:  # message n is due at start + n / rate, whichever connection sends it
            await asyncio.sleep(max(0.0, start + number / rate - time.time()))
        # message n goes from the n-th sender (in turn) to its own recipient
        sender, to = senders[number % len(senders)], tos[number % len(tos)]
        await client.sendmail(sender, [to], message(number, sender, to, size))
        accepted[number] = time.time()
    await client.quit()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", required=True,
                        help="a port, or several separated by commas: connections take turns")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--size", type=int, default=5120)
    parser.add_argument("--sender", default="sender@example.org",
                        help="one address, or several separated by commas, each with its --to")
    parser.add_argument("--to", default="sink@example.org")
    parser.add_argument("--rate", type=float, default=None, help="messages per second in all")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    accepted: dict[int, float] = {}
    shares = [list(range(i, args.count, args.connections)) for i in range(args.connections)]
    ports = [int(port) for port in str(args.port).split(",")]
    started = time.time()
    senders, tos = args.sender.split(","), args.to.split(",")
    assert len(senders) == len(tos), "as many senders as recipients"
    await asyncio.gather(*(worker(ports[i % len(ports)], share, senders, tos, args.size,
                                  accepted, started, args.rate)
                           for i, share in enumerate(shares)))
    with open(args.out, "w") as out:
        json.dump({"started": started, "finished": time.time(), "accepted": accepted}, out)


if __name__ == "__main__":
    asyncio.run(main())
