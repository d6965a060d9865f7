"""Command-line tools for designers and CI."""
