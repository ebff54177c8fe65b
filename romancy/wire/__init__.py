"""Every shape that crosses runtimes: readers and writers per peer (docs/compat.md)."""
