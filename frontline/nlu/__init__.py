"""The rule-based half of Frontline's hybrid NLU (spaCy EntityRuler patterns)."""
