"""Write the adversarial .eml templates of this folder (run once; the files are committed).

Each file is a message from a participant (the sender) to their partner's alias that tries to
hand over the sender's real address, personal domain or surname (or the partner's real address)
in a way a mail client would show. `X-Test-Attempt` says what it tries; `X-Test-Expect`, when
present, is the decision the shipped rules must take for a pair with a minor. Placeholders
({{sender}}, {{surname}}, ...) and encoding directives ({{b64:...}}, ...) are filled by
tests/unit/mail/adversarial.py when the file is loaded.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
HEAD = """X-Test-Attempt: {attempt}
{expect}From: {{{{full}}}} <{{{{sender}}}}>
To: {{{{partner_alias}}}}
Subject: {subject}
Date: Mon, 30 Nov 2026 10:00:00 -0500
Message-ID: <adv-{number:03d}@client.example>
MIME-Version: 1.0
"""
CASES: list[tuple[str, str, str, str]] = []


def case(name: str, attempt: str, body: str, *, subject: str = "Bonjour", expect: str = "") -> None:
    CASES.append((name, attempt, body, subject if not expect else subject + "\x00" + expect))


def plain(text: str, cte: str = "8bit", charset: str = "utf-8") -> str:
    return (f'Content-Type: text/plain; charset="{charset}"\nContent-Transfer-Encoding: {cte}\n\n'
            f"{text}\n")


def html(markup: str, cte: str = "8bit") -> str:
    return (f'Content-Type: text/html; charset="utf-8"\nContent-Transfer-Encoding: {cte}\n\n'
            f"<html><body>{markup}</body></html>\n")


def mixed(*parts: str, kind: str = "mixed") -> str:
    out = f'Content-Type: multipart/{kind}; boundary="==b=="\n\nThis is a multi-part message.\n'
    for part in parts:
        out += "--==b==\n" + part
    return out + "--==b==--\n"


TEXT = "Bonjour Léa,\nVoici la suite de notre discussion.\n"
ICS = ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Test//EN\nMETHOD:REQUEST\nBEGIN:VEVENT\n"
       "UID:adv-1@client.example\nDTSTART:20261201T150000Z\nSUMMARY:Rencontre\n{lines}\n"
       "END:VEVENT\nEND:VCALENDAR")


def attach(ctype: str, name: str, payload: str, cte: str = "base64", extra: str = "") -> str:
    return (f'Content-Type: {ctype}; name="{name}"\nContent-Transfer-Encoding: {cte}\n'
            f'Content-Disposition: attachment; filename="{name}"{extra}\n\n{payload}\n')


# --- folded and continued text -------------------------------------------------------------
case("ics_attendee_folded", "iCalendar ATTENDEE with CN and mailto folded at 75 octets (text/calendar)",
     mixed(plain(TEXT), 'Content-Type: text/calendar; method=REQUEST; charset="utf-8"\n\n'
           + ICS.format(lines="ORGANIZER;CN={{full}}:mailto:{{fold:{{sender}}}}\n"
                        "ATTENDEE;CN=Léa:mailto:{{partner_alias}}") + "\n"))
case("ics_as_application_ics", "calendar sent as application/ics, base64, organizer folded mid-address",
     mixed(plain(TEXT), attach("application/ics", "invite.ics", "{{b64:" + ICS.format(
         lines="ORGANIZER;CN={{surname}}:mailto:{{fold:{{sender}}}}") + "}}")))
case("vcard_folded", "vCard FN and EMAIL folded inside the value (text/vcard)",
     mixed(plain(TEXT), 'Content-Type: text/vcard; charset="utf-8"\n\nBEGIN:VCARD\nVERSION:3.0\n'
           "FN:{{full}}\nN:{{surname}};{{first}};;;\nEMAIL;TYPE=home:{{fold:{{sender}}}}\nEND:VCARD\n"))
case("vcard_tab_fold_b64", "vCard attachment (text/x-vcard, base64) folded with a TAB",
     mixed(plain(TEXT), attach("text/x-vcard", "contact.vcf", "{{b64:BEGIN:VCARD\nVERSION:3.0\n"
           "FN:{{first}} {{surname}}\nEMAIL:{{foldtab:{{sender}}}}\nEND:VCARD}}")))
case("rfc2231_filename_continuation", "RFC 2231 filename* continuation with percent-encoding spells the address",
     mixed(plain(TEXT), "Content-Type: text/plain; charset=utf-8\nContent-Disposition: attachment;\n"
           " filename*0*=utf-8''{{pct:{{sender_local}}@}};\n filename*1*={{pct:{{sender_domain}}}}.txt\n\n"
           "notes\n"))
case("rfc2231_name_surname", "RFC 2231 name* in Content-Type, percent-encoded surname",
     mixed(plain(TEXT), "Content-Type: application/pdf;\n name*=utf-8''CV-{{pct:{{surname}}}}.pdf\n"
           "Content-Transfer-Encoding: base64\nContent-Disposition: attachment\n\nJVBERi0xLjQKJSVFT0YK\n"))
case("rfc2047_split_words", "Subject of two adjacent encoded-words that join into the address",
     plain(TEXT), subject="=?utf-8?q?{{sender_local}}=40?=\n =?utf-8?q?{{sender_domain}}?=")
case("rfc2047_b_full_name", "Subject: the full name in a base64 encoded-word", plain(TEXT),
     subject="{{rfc2047b:De la part de {{full}}}}")
case("ics_description_folded", "calendar DESCRIPTION folded mid-address inside multipart/alternative",
     mixed(plain(TEXT), 'Content-Type: text/calendar; charset="utf-8"\n\n' + ICS.format(
         lines="DESCRIPTION:Mon adresse perso : {{fold:{{sender}}}} et mon nom"
               " {{fold:{{surname}}}}"), kind="alternative"))
case("vcard21_qp", "vCard 2.1 NOTE in quoted-printable (=40 for @) with a soft break",
     mixed(plain(TEXT), 'Content-Type: text/x-vcard\n\nBEGIN:VCARD\nVERSION:2.1\n'
           "NOTE;ENCODING=QUOTED-PRINTABLE:{{qpsoft:{{sender}}}}\nEND:VCARD\n"))
case("ics_cn_quoted", "calendar CN as a quoted 'Surname, First' parameter",
     mixed(plain(TEXT), 'Content-Type: text/calendar; charset="utf-8"\n\n' + ICS.format(
         lines='ORGANIZER;CN="{{surname}}, {{first}}":mailto:{{partner_alias}}')))
case("ics_octet_stream", "calendar as application/octet-stream invite.ics (base64)",
     mixed(plain(TEXT), attach("application/octet-stream", "rdv.ics", "{{b64:" + ICS.format(
         lines="ATTENDEE:mailto:{{sender}}") + "}}")))
case("header_folded_subject", "Subject folded right before the address",
     plain(TEXT), subject="Ecris-moi ici\n {{sender}}")

# --- HTML encodings -------------------------------------------------------------------------
case("html_dec_no_semicolon", "HTML decimal reference &#64 without its semicolon",
     html("<p>Mon courriel : {{sender_local}}&#64{{sender_domain}}</p>"))
case("html_hex_no_semicolon", "HTML hex reference &#x40 without its semicolon",
     html("<p>{{sender_local}}&#x40{{sender_domain}}</p>"))
case("html_named_refs", "named references &commat; and &period; for @ and dots",
     html("<p>{{sender_local}}&commat;{{ent_dots:{{sender_domain}}}}</p>"))
case("html_empty_elements", "address split by empty elements",
     html("<p>{{sender_local}}<span></span>@<b></b>{{sender_domain}}</p>"))
case("html_comments", "address split by HTML comments",
     html("<p>{{sender_local}}<!-- x -->@<!---->{{sender_domain}}</p>"))
case("html_wbr", "address split by <wbr>",
     html("<p>{{sender_local}}<wbr>@<wbr>{{sender_domain}}</p>"))
case("plain_zero_width", "zero-width spaces between every character (text/plain)",
     plain("Mon adresse : {{zw:{{sender}}}}"))
case("html_zwj", "zero-width joiners and word joiners in HTML",
     html("<p>{{zwj:{{sender}}}}</p>"))
case("html_shy_entity", "&shy; between characters of the address",
     html("<p>{{shy_ent:{{sender}}}}</p>"))
case("plain_soft_hyphen", "raw soft hyphens (U+00AD) in plain text",
     plain("{{shy:{{sender}}}}"))
case("html_percent_mailto", "percent-escaped mailto: link, the link text innocent",
     html('<a href="mailto:{{pct:{{sender}}}}">écris-moi ici</a>'))
case("html_data_uri", "data: URI link whose content is the address",
     html('<a href="data:text/plain;base64,{{b64line:Mon adresse: {{sender}}}}">ouvre ceci</a>'))
case("html_data_uri_html", "data:text/html link with the full name and address inside",
     html('<a href="data:text/html,{{pct:<b>{{full}}</b> {{sender}}}}">clique</a>'))
case("html_signature", "HTML signature block (table) with full name, address and domain",
     mixed(plain(TEXT), html("<p>Salut!</p><table><tr><td><b>{{full}}</b></td></tr><tr><td>"
                             "<a href='mailto:{{sender}}'>{{sender}}</a></td></tr>"
                             "<tr><td>www.{{sender_domain}}</td></tr></table>"), kind="alternative"))
case("html_all_entities", "every character of the address as a decimal reference",
     html("<p>{{entdec:{{sender}}}}</p>"))
case("html_title_attr", "address in a title attribute (tooltip)",
     html('<p title="{{sender}}">survole-moi</p>'))
case("html_img_alt", "address in an image's alt text",
     html('<img src="cid:logo" alt="{{sender}}">'))
case("html_only_mailto", "HTML only, the address only in a mailto: link",
     html('<a href="mailto:{{sender}}">Écris-moi</a>'))
case("html_qp_soft_break", "quoted-printable HTML, soft line break in the middle of the address",
     html("{{qp:<p>" + "x" * 60 + " {{sender}}</p>}}", cte="quoted-printable"))
case("html_surname_split", "surname split by empty bold element",
     html("<p>Signé : {{first}} {{split:{{surname}}}}</p>"))
case("html_surname_entity", "surname with its accents as named references",
     html("<p>{{first}} {{acc_ent:{{surname}}}}</p>"))
case("html_hidden_plain_visible", "innocent text part, address only in the HTML part",
     mixed(plain("Bonjour!"), html("<p>Bonjour! {{sender}}</p>"), kind="alternative"))
case("html_base64", "HTML part in base64 with the address",
     html("{{b64:<div>{{sender}}</div>}}", cte="base64"))

# --- Unicode look-alikes --------------------------------------------------------------------
case("fullwidth_at_dot", "fullwidth ＠ and ． in plain text",
     plain("{{sender_local}}＠{{fwdots:{{sender_domain}}}}"))
case("fullwidth_all", "the whole address in fullwidth forms", plain("{{fw:{{sender}}}}"))
case("fullwidth_raw_subject", "fullwidth address in a raw 8-bit Subject", plain(TEXT),
     subject="{{fw:{{sender}}}}")
case("small_at", "small commercial at U+FE6B", plain("{{sender_local}}\ufe6b{{sender_domain}}"))
case("math_bold_domain", "mathematical bold letters for the domain (NFKC folds them)",
     plain("{{sender_local}}@{{bold:{{sender_domain}}}}"))
case("circled_local", "circled letters for the local part", plain("{{circled:{{sender_local}}}}@{{sender_domain}}"))
case("fullwidth_surname", "surname in fullwidth capitals", plain("Je suis {{first}} {{fw:{{upper:{{surname}}}}}}"))
case("nfd_surname", "surname with decomposed accents (NFD)", plain("{{first}} {{nfd:{{surname}}}}"))
case("latin1_raw_subject", "raw 8-bit Latin-1 Subject with the surname", plain(TEXT),
     subject="{{latin1:Message de {{surname}}}}")

# --- containers -----------------------------------------------------------------------------
FWD = ("Return-Path: <{{sender}}>\nReceived: from [192.0.2.44] by mx.{{sender_domain}}\n"
       "From: {{full}} <{{sender}}>\nCc: {{full}} <{{sender}}>\nTo: Ami <ami@example.org>\n"
       "Subject: Mes coordonnées\nMessage-ID: <x1@{{sender_domain}}>\n\n"
       "Tu peux m'écrire à {{sender}}.\n")
case("rfc822_base64", "message/rfc822 in base64 (Return-Path, Received with IP, From/Cc)",
     mixed(plain(TEXT), "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
           "{{b64:" + FWD + "}}\n"))
case("rfc822_7bit", "forwarded message/rfc822 with From/Cc names and the address",
     mixed(plain(TEXT), "Content-Type: message/rfc822\n\n" + FWD))
case("eml_octet_stream", "a whole message sent as application/octet-stream fwd.eml",
     mixed(plain(TEXT), attach("application/octet-stream", "fwd.eml", "{{b64:" + FWD + "}}")))
case("eml_octet_stream_noname", "a whole message as unnamed application/octet-stream (sniffed)",
     mixed(plain(TEXT), "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
           "{{b64:" + FWD + "}}\n"))
case("uuencoded_plain", "uuencoded block in plain text holding the address",
     plain(TEXT + "{{uu:Mon adresse : {{sender}}}}"))
case("rfc822_nested_3", "three levels of message/rfc822, the address in the innermost body",
     mixed(plain(TEXT), "Content-Type: message/rfc822\n\nFrom: a@example.org\nSubject: 1\n"
           "Content-Type: message/rfc822\n\nFrom: b@example.org\nSubject: 2\n"
           "Content-Type: message/rfc822\n\nFrom: c@example.org\nSubject: 3\n\n{{sender}}\n"))
case("rfc822_qp", "message/rfc822 in quoted-printable", mixed(
    plain(TEXT), "Content-Type: message/rfc822\nContent-Transfer-Encoding: quoted-printable\n\n"
    "{{qp:" + FWD + "}}\n"))
case("digest", "multipart/digest whose default parts are messages", (
    'Content-Type: multipart/digest; boundary="d"\n\n--d\n\nFrom: x@example.org\nSubject: a\n\n'
    "{{sender}}\n--d--\n"))
case("rfc822_headers_part", "text/rfc822-headers part with Received and From", mixed(
    plain(TEXT), "Content-Type: text/rfc822-headers\n\nReceived: from mx.{{sender_domain}}\n"
    "From: {{full}} <{{sender}}>\n"))
case("delivery_status", "message/delivery-status naming the address", mixed(
    plain(TEXT), "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
    "Original-Recipient: rfc822;{{sender}}\nAction: failed\n", kind="report"))
case("too_deep", "message/rfc822 nested 12 deep (past the limit)", mixed(
    plain(TEXT), "".join("Content-Type: message/rfc822\n\nFrom: n@example.org\nSubject: n\n"
                         for _ in range(12)) + "\n{{sender}}\n"), expect="hold")
case("message_global_b64", "message/global in base64", mixed(
    plain(TEXT), "Content-Type: message/global\nContent-Transfer-Encoding: base64\n\n"
    "{{b64:" + FWD + "}}\n"))
case("rfc822_b64_in_b64", "base64 message/rfc822 inside a base64 message/rfc822", mixed(
    plain(TEXT), "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{{b64:"
    "From: a@example.org\nSubject: outer\nMIME-Version: 1.0\nContent-Type: message/rfc822\n"
    "Content-Transfer-Encoding: base64\n\n{{b64:" + FWD + "}}\n}}\n"))
case("preamble", "address in the MIME preamble and epilogue",
     'Content-Type: multipart/mixed; boundary="p"\n\n{{sender}}\n--p\n' + plain(TEXT)
     + "--p--\nMerci {{full}}\n")

# --- opaque parts ---------------------------------------------------------------------------
case("pgp_key_inline", "an ASCII-armoured PGP public key in the text",
     plain(TEXT + "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBGV0ZXN0AQgA\n=abcd\n"
           "-----END PGP PUBLIC KEY BLOCK-----"), expect="hold")
case("pgp_keys_attachment", "application/pgp-keys attachment",
     mixed(plain(TEXT), attach("application/pgp-keys", "cle.asc", "mQENBGV0ZXN0AQgA", "7bit")),
     expect="hold")
case("smime_signature", "S/MIME signature (its certificate names the owner)", (
    'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;'
    ' boundary="s"\n\n--s\n' + plain(TEXT) + "--s\n"
    + attach("application/pkcs7-signature", "smime.p7s", "MIAGCSqGSIb3DQEHAqCAMIACAQExDzAN")
    + "--s--\n"), expect="hold")
case("tnef", "Outlook winmail.dat (application/ms-tnef)",
     mixed(plain(TEXT), attach("application/ms-tnef", "winmail.dat", "eJ8+IhAAAQaQCAAEAAAA")),
     expect="hold")
case("tnef_unnamed", "TNEF bytes as unnamed application/octet-stream",
     mixed(plain(TEXT), "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
           "\neJ8+IhAAAQaQCAAEAAAA\n"), expect="hold")
case("zip_with_address", "zip whose text file holds the address",
     mixed(plain(TEXT), attach("application/zip", "notes.zip", "{{zip:notes.txt=Mon adresse: {{sender}}}}")),
     expect="hold")
case("zip_too_many", "zip with more entries than the listing limit",
     mixed(plain(TEXT), attach("application/zip", "photos.zip", "{{zipmany:1200}}")), expect="hold")
case("zip_encrypted", "zip with an encrypted entry",
     mixed(plain(TEXT), attach("application/zip", "secret.zip", "{{zipenc:a.txt}}")), expect="hold")
case("zip_nested_deep", "zip nested five deep",
     mixed(plain(TEXT), attach("application/zip", "deep.zip", "{{zipnest:5}}")), expect="hold")
case("zip_bomb", "zip member inflating far beyond its compressed size",
     mixed(plain(TEXT), attach("application/zip", "big.zip", "{{zipbomb:}}")), expect="hold")
case("rar", "a RAR archive (cannot be listed)",
     mixed(plain(TEXT), attach("application/x-rar-compressed", "a.rar", "UmFyIRoHAM+QcwAADQAA")),
     expect="hold")
case("targz_with_address", "tar.gz whose file holds the address",
     mixed(plain(TEXT), attach("application/gzip", "a.tar.gz", "{{targz:moi.txt={{sender}}}}")),
     expect="hold")
case("pdf_with_address", "a PDF whose text holds the address (cannot be edited)",
     mixed(plain(TEXT), attach("application/pdf", "cv.pdf", "{{b64:%PDF-1.4\n1 0 obj<<>>stream\n"
           "BT (Courriel: {{sender}}) Tj ET\nendstream\n%%EOF}}")), expect="hold")
case("png_text_chunk", "a PNG with the address in a text chunk",
     mixed(plain(TEXT), attach("image/png", "moi.png", "{{png:{{sender}}}}")), expect="hold")
case("content_id_domain", "Content-ID carrying the personal domain, referenced by cid:",
     mixed(html('<img src="cid:part1.A1B2@{{sender_domain}}">'),
           'Content-Type: image/png\nContent-Transfer-Encoding: base64\n'
           "Content-ID: <part1.A1B2@{{sender_domain}}>\n\niVBORw0KGgo=\n", kind="related"))
case("content_id_address", "Content-ID equal to the sender's address",
     mixed(html('<img src="cid:{{sender}}">'),
           'Content-Type: image/gif\nContent-Transfer-Encoding: base64\n'
           "Content-ID: <{{sender}}>\n\nR0lGODlhAQABAAAAACw=\n", kind="related"))
case("pgp_encrypted", "multipart/encrypted PGP message", (
    'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"\n\n'
    "--e\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n--e\n"
    "Content-Type: application/octet-stream\n\n-----BEGIN PGP MESSAGE-----\n\nhQEMA\n"
    "-----END PGP MESSAGE-----\n--e--\n"), expect="hold")
case("text_attachment_octet", "a text file sent as application/octet-stream (sniffed as text)",
     mixed(plain(TEXT), attach("application/octet-stream", "lisezmoi", "{{b64:Contacte {{full}}"
                               " : {{sender}}}}")))
case("json_attachment", "application/json attachment with the address",
     mixed(plain(TEXT), attach("application/json", "c.json", '{"email": "{{sender}}"}', "7bit")))

# --- names ----------------------------------------------------------------------------------
case("signature_surname", "surname in a plain signature",
     plain(TEXT + "-- \n{{full}}\nIngénieur, {{surname}} & associés"))
case("quote_attribution_fr", "French quoted attribution with name and address",
     plain("Merci!\n\nLe lun. 30 nov. 2026 à 09:12, {{full}} <{{sender}}> a écrit :\n> Salut"))
case("quote_attribution_en", "English quoted attribution with the surname only",
     plain("Thanks!\n\nOn Mon, Nov 30, 2026, {{surname}} wrote:\n> hi"))
case("surname_upper", "surname in capitals", plain("Signé: {{upper:{{surname}}}}"))
case("surname_no_accents", "surname without its accents", plain("Signé: {{noacc:{{surname}}}}"))
case("full_name_spaced", "full name with the hyphen replaced by a space and no accents",
     plain("{{noacc:{{spaced:{{full}}}}}}"))
case("forwarded_cc_names", "From/Cc names in a forwarded message", mixed(
    plain(TEXT), "Content-Type: message/rfc822\n\nFrom: {{full}} <ami@example.org>\n"
    "Cc: \"{{surname}}, {{first}}\" <ami2@example.org>\nSubject: fwd\n\nbonjour\n"))
case("vcard_n_field", "vCard N field 'Surname;First'", mixed(
    plain(TEXT), "Content-Type: text/vcard\n\nBEGIN:VCARD\nVERSION:4.0\nFN:{{first}}\n"
    "N:{{surname}};{{first}};;;\nEND:VCARD\n"))
case("ics_cn_surname", "calendar CN with the full name", mixed(
    plain(TEXT), "Content-Type: text/calendar\n\n" + ICS.format(lines="ATTENDEE;CN={{full}}:mailto:"
                                                               "{{partner_alias}}")))
case("filename_surname", "surname in an attachment's file name",
     mixed(plain(TEXT), attach("application/pdf", "CV_{{noacc:{{surname}}}}_2026.pdf", "JVBERi0xLjQK")))
case("filename_rfc2047", "surname in an RFC 2047-encoded file name",
     mixed(plain(TEXT), attach("application/pdf", "{{rfc2047q:Lettre {{surname}}.pdf}}", "JVBERi0xLjQK")))
case("partner_address_quoted", "the partner's real address quoted in a reply",
     plain("Oui!\n\nLe 29 nov., Léa <{{partner}}> a écrit :\n> à demain"))
case("partner_address_html", "the partner's real address in an HTML quote",
     html("<blockquote>{{partner}}</blockquote>"))
case("subject_surname", "surname in the Subject", plain(TEXT), subject="{{full}} ici")
case("domain_in_url", "personal domain as a web site", plain("Mon site: https://www.{{sender_domain}}/moi"))
case("domain_third_party", "another address at the personal domain", plain("Ou écris à papa@{{sender_domain}}"))
case("plus_address", "sub-address (local+tag@domain)", plain("{{sender_local}}+mentorat@{{sender_domain}}"))
case("address_upper", "the address in capitals", plain("{{upper:{{sender}}}}"))
case("base64_plain", "text/plain in base64 with the address", plain("{{b64:{{sender}}}}", cte="base64"))
case("latin1_plain", "ISO-8859-1 text with the surname", plain("{{latin1:Signé {{surname}}}}", charset="iso-8859-1"))
case("broken_charset", "a charset name that does not exist, UTF-8 bytes",
     plain("Signé {{full}}", charset="x-unknown-charset"))

# --- more ideas -----------------------------------------------------------------------------
case("flowed_delsp", "format=flowed; delsp=yes: a soft line break inside the address",
     'Content-Type: text/plain; charset="utf-8"; format=flowed; delsp=yes\n\n'
     "Mon adresse : {{flowsplit:{{sender}}}}\n")
case("css_content", "CSS ::after content draws the address (with a CSS escape for @)",
     html('<style>.x::after { content: "{{cssat:{{sender}}}}"; }</style><p class="x">Moi :</p>'))
case("rtl_override", "right-to-left override: the address written backwards, drawn forwards",
     plain("Courriel : \u202e{{reverse:{{sender}}}}\u202c"))
case("utf7_charset", "charset utf-7: +AEA- for @", plain("{{utf7:{{sender}}}}", charset="utf-7"))
case("content_description", "the address and full name in a part's Content-Description",
     mixed(plain(TEXT), 'Content-Type: image/png\nContent-Transfer-Encoding: base64\n'
           "Content-Description: photo de {{full}} ({{sender}})\n\niVBORw0KGgo=\n"))
case("entity_zero_width", "&#8203; references between the address's characters",
     html("<p>{{ent_zw:{{sender}}}}</p>"))
case("address_in_img_src", "personal domain in an image URL (a tracking pixel)",
     html('<img src="https://photos.{{sender_domain}}/p.png" alt="">'))
case("multiline_name_html", "full name split over two lines by <br>",
     html("<p>{{first}}<br>{{surname}}</p>"))

case("svg_text", "an SVG image whose <text> draws the full name and address",
     mixed(plain(TEXT), attach("image/svg+xml", "carte.svg", "{{b64:<svg xmlns='http://www.w3.org/2000/svg'>"
           "<text x='0' y='15'>{{full}} {{sender}}</text></svg>}}")))
case("eml_as_text_plain", "an .eml attached as text/plain whose own body is base64",
     mixed(plain(TEXT), attach("text/plain", "message.eml", "{{b64:From: a@example.org\nSubject: x\n"
           "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64"
           "\n\n{{b64:{{sender}}}}\n}}")))
case("tnef_in_zip", "winmail.dat inside a zip archive",
     mixed(plain(TEXT), attach("application/zip", "outlook.zip", "{{zipbytes:winmail.dat}}")),
     expect="hold")

# --- executables ----------------------------------------------------------------------------
EXE = "TVqQAAMAAAAEAAAA"
case("exe_duplicate_filename", "duplicate filename parameters: .pdf then .exe",
     mixed(plain(TEXT), 'Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n'
           'Content-Disposition: attachment; filename="doc.pdf"; filename="doc.exe"\n\n' + EXE + "\n"),
     expect="reject")
case("exe_name_vs_filename", "Content-Type name .exe, Content-Disposition filename .pdf",
     mixed(plain(TEXT), 'Content-Type: application/pdf; name="setup.exe"\nContent-Transfer-Encoding:'
           ' base64\nContent-Disposition: attachment; filename="setup.pdf"\n\n' + EXE + "\n"),
     expect="reject")
case("exe_duplicate_content_type", "two Content-Type headers, the second an executable type",
     mixed(plain(TEXT), 'Content-Type: image/png\nContent-Type: application/x-msdownload\n'
           'Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="a.png"\n\n'
           + EXE + "\n"), expect="reject")
case("exe_zip_nested", "an .exe inside a zip inside a zip inside a zip",
     mixed(plain(TEXT), attach("application/zip", "docs.zip", "{{zipexe:3}}")), expect="reject")
case("exe_rfc2231_split", "RFC 2231 continuation that spells .exe across two pieces",
     mixed(plain(TEXT), 'Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n'
           'Content-Disposition: attachment; filename*0="setup.e"; filename*1="xe"\n\n' + EXE + "\n"),
     expect="reject")
case("exe_trailing_dot", "file name ending in '.exe.' and spaces",
     mixed(plain(TEXT), attach("application/octet-stream", "setup.exe. ", EXE)), expect="reject")
case("exe_fullwidth", "extension in fullwidth letters",
     mixed(plain(TEXT), attach("application/octet-stream", "{{rfc2047b:setup.ｅｘｅ}}", EXE)),
     expect="reject")
case("exe_rtlo", "right-to-left override hides .exe as .jpg",
     mixed(plain(TEXT), attach("application/octet-stream", "{{rfc2047b:photo\u202egpj.exe}}", EXE)),
     expect="reject")
case("exe_percent", "percent-escaped extension in a plain filename",
     mixed(plain(TEXT), attach("application/octet-stream", "setup%2Eexe", EXE)), expect="reject")


def main() -> None:
    for old in HERE.glob("*.eml"):
        old.unlink()
    for number, (name, attempt, body, subject) in enumerate(CASES, start=1):
        subject, _, expect = subject.partition("\x00")
        head = HEAD.format(attempt=attempt, number=number, subject=subject,
                           expect=f"X-Test-Expect: {expect}\n" if expect else "")
        (HERE / f"{number:03d}_{name}.eml").write_text(head + body, encoding="utf-8")
    print(len(CASES), "files")


if __name__ == "__main__":
    main()
