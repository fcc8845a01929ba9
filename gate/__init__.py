"""clanforge-gate: block a pipeline on a Clanforge image update."""

__version__ = "0.1.0"
