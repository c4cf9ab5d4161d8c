"""moderation room of Mentor Gateway (see ARCHITECTURE.md)."""
