"""The durable store (SQLite, events + answers + outbox in one transaction) and the core that drives the engine with it."""
