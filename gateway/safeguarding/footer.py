"""The bilingual "how to report" footer added to forwards to minors (text and HTML)."""

from __future__ import annotations

from html import escape


def footer_text(report_address: str) -> str:
    return (
        "\n\n-- \n"
        "Pour signaler un problème, écris SIGNALER au début de ta réponse ou écris à "
        f"{report_address}.\n"
        "To report a problem, write REPORT at the start of your reply or write to "
        f"{report_address}.\n"
    )


def footer_html(report_address: str) -> str:
    address = escape(report_address)
    return (
        '<hr><p style="font-size:small;color:#555">'
        "Pour signaler un problème, écris SIGNALER au début de ta réponse ou écris à "
        f"{address}.<br>"
        "To report a problem, write REPORT at the start of your reply or write to "
        f"{address}.</p>"
    )
