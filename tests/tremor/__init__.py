"""Tremor's own unit tests for every codec, preprocessor and postprocessor, ported (see docs/tremor.md)."""
