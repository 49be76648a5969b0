"""The daemon engine's own Python files, shared by this package.

The build copies them here from core/python (errors.py: tracebacks without the machinery's
frames; cells.py: how cells are compiled), so the console and the daemon run the same code.
They import nothing of the daemon's.
"""
