"""Frontline's custom actions, one module per feature.

Actions are thin: they read slots, call one service function from
``frontline.services`` and send a response by name. Business rules live in the
services, which are tested without Rasa.
"""
