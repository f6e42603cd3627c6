"""distribute: press release distribution and mailing."""

__version__ = "0.1.0"
