//! results (placeholder, filled in by its issue).
