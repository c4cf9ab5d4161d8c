"""The web page's words in French and English, and the common rejection reasons offered to moderators."""

from __future__ import annotations

from collections.abc import Callable

from gateway.review.labels import rule_label  # noqa: F401  (the pages' name for it)
from gateway.web.i18n_program import PROGRAM_CATALOG

LANGS = ("fr", "en")

# key -> (French, English). Every string a staff member reads on the page lives here.
CATALOG: dict[str, tuple[str, str]] = {
    "app_title": ("Passerelle de mentorat — modération", "Mentor Gateway — review"),
    "login": ("Connexion", "Log in"),
    "logout": ("Déconnexion", "Log out"),
    "email": ("Courriel", "E-mail"),
    "password": ("Mot de passe", "Password"),
    "login_failed": ("Courriel ou mot de passe incorrect.", "Wrong e-mail or password."),
    "too_many_attempts": (
        "Trop de tentatives. Réessayez dans {minutes} minutes.",
        "Too many attempts. Try again in {minutes} minutes.",
    ),
    "csrf_failed": (
        "Le formulaire a expiré ou ne vient pas de cette page. Rechargez la page et recommencez.",
        "This form expired or did not come from this page. Reload the page and try again.",
    ),
    "not_found": ("Introuvable.", "Not found."),
    "erased_by_retention": (
        "Le contenu de ce message a été effacé le {date}, à la fin de la durée de conservation.",
        "This message's content was erased on {date}, at the end of the retention period.",
    ),
    "forbidden": ("Vous n'avez pas accès à cette action.", "You may not do this."),
    "reports": ("Signalements", "Reports"),
    "open_reports": ("Signalements et messages à l'équipe à traiter : {count}",
                     "Reports and messages to the team to handle: {count}"),
    "no_reports": ("Aucun signalement ouvert.", "No open report."),
    "report_kind_report": ("Signalement", "Report"),
    "report_kind_contact": ("Message à l'équipe", "Message to the team"),
    "report_title": ("{kind} n° {id}", "{kind} #{id}"),
    "report_written": ("Ce qui a été écrit", "What was written"),
    "reported_message": ("Message signalé", "Reported message"),
    "recent_history": ("Historique récent du jumelage", "The pair's recent history"),
    "report_resume": ("Reprendre le jumelage", "Resume the pair"),
    "report_close": ("Fermer", "Close"),
    "report_block": ("Fermer et bloquer la personne signalée", "Close and block the reported participant"),
    "report_note": ("Note (journal)", "Note (audit trail)"),
    "report_done": ("Signalement {id} : {state}", "Report {id}: {state}"),
    "reporter": ("Auteur", "From"),
    "reported": ("signalé (non transmis)", "reported (not forwarded)"),
    "queue": ("File d'attente", "Review queue"),
    "pairs": ("Jumelages", "Pairs"),
    "audit": ("Journal", "Audit trail"),
    "held_count": ("{count} message(s) en attente", "{count} held message(s)"),
    "empty_queue": ("Aucun message en attente.", "No held message."),
    "age": ("Attente", "Waiting"),
    "organization": ("Organisation", "Organization"),
    "all_organizations": ("Toutes", "All"),
    "pair": ("Jumelage", "Pair"),
    "direction": ("Sens", "Direction"),
    "mentor_to_mentee": ("mentor → jeune", "mentor → mentee"),
    "mentee_to_mentor": ("jeune → mentor", "mentee → mentor"),
    "reasons": ("Raisons", "Reasons"),
    "subject": ("Objet", "Subject"),
    "first_line": ("Début du message", "First line"),
    "filter": ("Filtrer", "Filter"),
    "reason": ("Raison", "Reason"),
    "any": ("Toutes", "Any"),
    "previous": ("Précédent", "Previous"),
    "next": ("Suivant", "Next"),
    "page": ("Page {page} sur {pages}", "Page {page} of {pages}"),
    "approve": ("Approuver", "Approve"),
    "approve_redacted": ("Approuver en retirant les passages signalés",
                         "Approve with flagged passages removed"),
    "reject": ("Refuser", "Reject"),
    "bulk_approve": ("Approuver la sélection", "Approve selected"),
    "bulk_reject": ("Refuser la sélection", "Reject selected"),
    "reject_reason": ("Raison donnée à l'expéditeur", "Reason given to the sender"),
    "other_reason": ("Autre raison (texte libre)", "Other reason (free text)"),
    "note": ("Note interne (facultative)", "Internal note (optional)"),
    "pause_pair": ("Mettre le jumelage en pause", "Pause the pair"),
    "resume_pair": ("Reprendre le jumelage", "Resume the pair"),
    "close_pair": ("Fermer le jumelage", "Close the pair"),
    "message": ("Message", "Message"),
    "from_to": ("De {sender} à {recipient}", "From {sender} to {recipient}"),
    "received": ("Reçu", "Received"),
    "state": ("État", "State"),
    "evidence": ("Passages signalés", "Flagged passages"),
    "text": ("Texte", "Text"),
    "html_part": ("Version HTML (nettoyée, sans contenu distant)",
                  "HTML version (sanitized, no remote content)"),
    "headers": ("En-têtes", "Headers"),
    "attachments": ("Pièces jointes", "Attachments"),
    "no_attachments": ("Aucune pièce jointe.", "No attachments."),
    "history": ("Historique du jumelage", "Pair history"),
    "read_only": ("Lecture seule : seuls les modérateurs décident.",
                  "Read-only: only moderators decide."),
    "done_approved": ("{count} message(s) approuvé(s).", "{count} message(s) approved."),
    "done_rejected": ("{count} message(s) refusé(s).", "{count} message(s) rejected."),
    "done_pair": ("Jumelage {pair} : {state}.", "Pair {pair}: {state}."),
    "refused_items": ("Non traité(s) : {items}", "Not done: {items}"),
    "nothing_selected": ("Aucun message sélectionné.", "No message selected."),
    "reason_required": ("Un refus demande une raison.", "A rejection needs a reason."),
    "search": ("Rechercher", "Search"),
    "search_hint": ("nom, courriel ou no de jumelage", "name, e-mail or pair number"),
    "moderator": ("modération", "moderator"),
    "coordinator": ("coordination", "coordinator"),
    "mentor": ("Mentor", "Mentor"),
    "mentee": ("Jeune", "Mentee"),
    "last_activity": ("Dernière activité", "Last activity"),
    "never": ("jamais", "never"),
    "actions": ("Actions", "Actions"),
    "when": ("Quand", "When"),
    "who": ("Qui", "Who"),
    "what": ("Quoi", "What"),
    "on": ("Sur", "On"),
    "detail": ("Détail", "Detail"),
    "language": ("English", "Français"),  # the label of the switch names the other language
    "active": ("actif", "active"),
    "paused": ("en pause", "paused"),
    "closed": ("fermé", "closed"),
    "held": ("en attente", "held"),
    "queued": ("approuvé", "approved"),
    "sent": ("transmis", "sent"),
    "rejected": ("refusé", "rejected"),
    "received_state": ("reçu", "received"),
    "delivered": ("livré", "delivered"),
    "failed": ("échec de livraison", "delivery failed"),
    "deferred": ("livraison reportée", "delivery deferred"),
    "sending": ("en cours d'envoi", "sending"),
    "action_hold": ("retenir", "hold"),
    "action_reject": ("refuser", "reject"),
    "action_pass": ("laisser passer", "pass"),
    "in_field": ("dans : {field}", "in: {field}"),
    "previous_item": ("← Message précédent", "← Previous message"),
    "next_item": ("Message suivant →", "Next message →"),
    "page_title": ("{program} — {page}", "{program} — {page}"),
    "select_all": ("Tout sélectionner sur cette page", "Select all on this page"),
    "select_none": ("Tout désélectionner", "Select none"),
    "select_item": ("Sélectionner le message {id}", "Select message {id}"),
    "approve_next": ("Approuver et suivant", "Approve and next"),
    "reject_next": ("Refuser et suivant", "Reject and next"),
    "item_reason": ("Raison pour ce message (remplace celle du bas)",
                    "Reason for this message (overrides the one below)"),
    "same_as_below": ("comme en bas", "as below"),
    "times_in": ("Heures affichées : {zone}", "Times shown: {zone}"),
    "show_html": ("Afficher la version HTML", "Show the HTML version"),
    "show_text": ("Afficher le texte", "Show the text"),
    "excerpt": ("Extrait", "Excerpt"),
    "queue_done": ("Plus aucun message en attente pour ce filtre.",
                   "No more held messages for this filter."),
    "back_to_queue": ("Retour à la file", "Back to the queue"),
    "shortcuts": ("Raccourcis clavier", "Keyboard shortcuts"),
    "shortcuts_help": (
        "j / k : message suivant / précédent · a : approuver (et suivant) · r : refuser (choisir "
        "la raison, puis Entrée) · x : sélectionner · ? : cette aide",
        "j / k: next / previous message · a: approve (and next) · r: reject (pick the reason, "
        "then Enter) · x: select · ?: this help"),
    "confirm_high": ("Confirmer (gravité élevée)", "Confirm (high severity)"),
    "high_needs_confirm": (
        "Non approuvé(s) sans confirmation, gravité élevée : {items}",
        "Not approved without confirmation, high severity: {items}"),
    "severity": ("Gravité", "Severity"),
    "first_message_sentence": ("Premier message du jumelage : toujours relu.",
                               "The pair's first message: always reviewed."),
    "forgot_link": ("Mot de passe oublié ?", "Forgot your password?"),
    "forgot_title": ("Recevoir un lien pour changer de mot de passe",
                     "Get a link to change your password"),
    "forgot_send": ("Envoyer le lien", "Send the link"),
    "forgot_sent": ("Si un compte existe pour cette adresse, un lien valable 2 h vient d'y être "
                    "envoyé.", "If an account exists for this address, a link valid for 2 hours "
                    "has been sent to it."),
    "forgot_off": ("Le changement de mot de passe par courriel est désactivé : l'adresse publique "
                   "de cette page ([web] public_url) n'est pas configurée. Demandez à "
                   "l'administrateur un lien (mentor-gateway staff reset-password).",
                   "Password reset by e-mail is off: this page's public address ([web] "
                   "public_url) is not configured. Ask the administrator for a link "
                   "(mentor-gateway staff reset-password)."),
    "reset_title": ("Choisir un nouveau mot de passe", "Choose a new password"),
    "reset_invalid": ("Ce lien n'est plus valide. Demandez-en un nouveau.",
                      "This link is no longer valid. Ask for a new one."),
    "reset_done": ("Mot de passe changé. Vous pouvez vous connecter.",
                   "Password changed. You can log in."),
    "password_too_short": ("Le mot de passe doit compter au moins 10 caractères.",
                           "The password needs at least 10 characters."),
    "save": ("Enregistrer", "Save"),
    "awaiting_consent": ("attend le consentement parental", "awaiting a guardian's consent"),
    "participants": ("Participants", "Participants"),
    "import": ("Importer", "Import"),
    "import_title": ("Importer des participants (CSV)", "Import participants (CSV)"),
    "import_help": ("Fichier CSV exporté d'Excel ou d'un tableur : UTF-8 ou Windows-1252, "
                    "séparé par des virgules ou des points-virgules, en-têtes en français ou en "
                    "anglais (courriel, prénom, nom, rôle, école, date de naissance, niveau, "
                    "intérêts, courriel du parent…).",
                    "A CSV file exported from Excel or a spreadsheet: UTF-8 or Windows-1252, comma "
                    "or semicolon separated, headers in French or English (email, first name, last "
                    "name, role, organization, birth date, school level, interests, guardian "
                    "email…)."),
    "csv_file": ("Fichier CSV", "CSV file"),
    "dry_run": ("Vérifier seulement (ne rien enregistrer)", "Check only (save nothing)"),
    "import_button": ("Importer", "Import"),
    "import_summary": ("{lines} ligne(s) lue(s) : {created} ajoutée(s), {updated} modifiée(s), "
                       "{unchanged} inchangée(s), {failed} refusée(s) ; {consent} demande(s) de "
                       "consentement envoyée(s).",
                       "{lines} line(s) read: {created} added, {updated} updated, {unchanged} "
                       "unchanged, {failed} refused; {consent} consent request(s) sent."),
    "dry_run_summary": ("Vérification : {valid} ligne(s) valide(s), {failed} refusée(s). Rien n'a "
                        "été enregistré.", "Check: {valid} valid line(s), {failed} refused. "
                        "Nothing was saved."),
    "line": ("Ligne", "Line"),
    "column": ("Colonne", "Column"),
    "problem": ("Problème", "Problem"),
    "file_refused": ("Fichier refusé : {problem}", "File refused: {problem}"),
    "file_empty": ("le fichier est vide", "the file is empty"),
    "file_not_text": ("ce n'est pas un fichier CSV (un classeur .xlsx ? enregistrez-le en CSV)",
                      "this is not a CSV file (an .xlsx workbook? save it as CSV)"),
    "file_no_email_column": ("aucune colonne de courriel (courriel, email) dans la ligne d'en-tête",
                             "no e-mail column (courriel, email) in the header line"),
    "file_unreadable": ("le CSV est illisible", "the CSV cannot be read"),
    "file_missing": ("Choisissez un fichier CSV.", "Choose a CSV file."),
    "file_too_big": ("Fichier trop gros (5 Mo au plus).", "File too large (5 MB at most)."),
    "consent_lines": ("Consentement demandé au parent (lignes {lines}) : aucun jumelage de ces "
                      "jeunes ne sera activé avant sa réponse.",
                      "A guardian's consent was asked (lines {lines}): no pair of these young "
                      "people is activated before the answer."),
    "ignored_columns": ("Colonnes ignorées (inconnues) : {columns}",
                        "Columns ignored (unknown): {columns}"),
    "role": ("Rôle", "Role"),
    "school_level": ("Niveau", "School level"),
    "interests": ("Intérêts", "Interests"),
    "consent": ("Consentement", "Consent"),
    "consent_not_needed": ("non requis", "not needed"),
    "consent_pending": ("attendu", "pending"),
    "consent_given": ("donné", "given"),
    "consent_withdrawn": ("retiré", "withdrawn"),
    "participant_count": ("{count} participant(s)", "{count} participant(s)"),
    "no_participants": ("Aucun participant.", "No participants."),
    "search_people_hint": ("nom ou courriel", "name or e-mail"),
    "minutes": ("{n} min", "{n} min"),
    "hours": ("{n} h", "{n} h"),
    "days": ("{n} j", "{n} d"),
}

# Reasons a moderator can pick when rejecting; the sender reads the one in their language.
COMMON_REASONS: dict[str, tuple[str, str]] = {
    "contact": ("Les coordonnées personnelles (téléphone, adresse, réseaux sociaux) ne peuvent pas "
                "être échangées.",
                "Personal contact details (phone, address, social media) may not be exchanged."),
    "meeting": ("Les rencontres en personne s'organisent avec l'équipe du programme.",
                "In-person meetings are arranged with the program team."),
    "language": ("Le ton ou les mots employés ne conviennent pas à un échange de mentorat.",
                 "The tone or words used are not right for a mentoring exchange."),
    "links": ("Les liens et pièces jointes de ce type ne sont pas permis.",
              "Links and attachments of this kind are not allowed."),
    "off_topic": ("Ce message sort du cadre du programme de mentorat.",
                  "This message is outside the scope of the mentoring program."),
}

CATALOG.update(PROGRAM_CATALOG)  # the dashboard's words live beside its page

# The same reasons in a word or two, for the per-message choice in a bulk rejection.
REASON_SHORT: dict[str, tuple[str, str]] = {
    "contact": ("coordonnées", "contact details"),
    "meeting": ("rencontre", "meeting"),
    "language": ("ton, mots", "tone, words"),
    "links": ("liens, fichiers", "links, files"),
    "off_topic": ("hors sujet", "off topic"),
}

STATE_KEYS = {"received": "received_state"}



def pick_lang(value: str | None, fallback: str = "fr") -> str:
    return value if value in LANGS else fallback


def lang_from_accept(header: str | None) -> str:
    """The first of fr/en named in an Accept-Language header; French when neither is."""
    for part in (header or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return "fr"


def translate(lang: str, key: str, **values: object) -> str:
    french, english = CATALOG.get(key, (key, key))
    text = english if lang == "en" else french
    return text.format(**values) if values else text


def translator(lang: str) -> Callable[..., str]:
    def t(key: str, **values: object) -> str:
        return translate(lang, key, **values)

    return t


def state_label(lang: str, state: str) -> str:
    key = STATE_KEYS.get(state, state)
    return translate(lang, key) if key in CATALOG else state


def reason_text(key: str, lang: str) -> str | None:
    pair = COMMON_REASONS.get(key)
    if pair is None:
        return None
    return pair[1] if lang == "en" else pair[0]
