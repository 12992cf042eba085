//! probe (placeholder, filled in by its issue).
