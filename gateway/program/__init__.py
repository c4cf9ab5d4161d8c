"""program room of Mentor Gateway (see ARCHITECTURE.md)."""
