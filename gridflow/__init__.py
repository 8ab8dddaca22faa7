"""gridflow: the composition root — settings, command line, publisher SDK and simulator."""

__version__ = "0.1.0"
