"""Helpers shared by tests that drive a real server: image layouts to push, and the server process itself."""
