"""Dialogue components of Frontline that run inside the Rasa server."""
