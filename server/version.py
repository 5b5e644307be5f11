"""The installed distribution's version."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("document-management")
except PackageNotFoundError:  # running from a tree that is not installed
    VERSION = "0.0.0+local"
