"""clanforge-gate: block a pipeline on a Clanforge image update."""

__version__ = "0.2.0"
