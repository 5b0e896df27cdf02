"""``python -m rxunix``: the ``rxunix`` command."""

from .app.cli import entry

if __name__ == "__main__":
    entry()
