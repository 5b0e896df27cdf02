"""Applications on top of the library: the ``rxunix`` command line, the flow runner and the demo."""
