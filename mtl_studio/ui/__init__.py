"""The window: everything Qt (see docs/architecture.md)."""
