"""Helpers shared by the test layers (real processes, real HTTP)."""
