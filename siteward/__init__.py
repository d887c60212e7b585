"""siteward: synthetic testing and performance audits for websites."""

__version__ = "0.1.0"
