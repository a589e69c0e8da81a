"""The six incident diagnostics, one module per incident type."""
