"""Wire and storage contracts shared by every role. Generated modules are committed;
regenerate with `python -m proto.generate` (tests fail when they are stale)."""
