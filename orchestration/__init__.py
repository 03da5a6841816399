"""flex-usage: Flex token usage warehouse (Dagster code location and CLI)."""
