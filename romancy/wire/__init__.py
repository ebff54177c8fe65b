"""Every shape that crosses runtimes: readers and writers per peer (DESIGN D6)."""
