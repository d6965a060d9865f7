"""Business rules, testable without Rasa: each module serves one feature."""
