//! xdp (placeholder, filled in by its issue).
