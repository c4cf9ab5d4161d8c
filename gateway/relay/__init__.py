"""relay room: from a stored message to a moderated, anonymized forward in the outbox."""
