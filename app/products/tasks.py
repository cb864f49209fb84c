"""The product registry has no periodic work: support windows are computed when read."""
