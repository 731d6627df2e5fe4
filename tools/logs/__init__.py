"""Log tools: windows, uploads, ingest and search over robot logs."""
