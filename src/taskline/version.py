"""taskline's version, in a module of its own so that any module may name it.

`taskline/__init__.py` imports every layer; a module that took the version from
there would import the whole package back into itself.
"""

__version__ = "0.1.0"
"""The version pyproject.toml gives the package; the two are changed together."""
