//! xsk (placeholder, filled in by its issue).
