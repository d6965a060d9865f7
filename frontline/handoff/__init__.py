"""Handing a conversation to a human agent.

* :mod:`frontline.handoff.packet`: the context packet (schema, builder, validator).
* :mod:`frontline.handoff.queue`: the queue human agents work from (SQL or Redis
  Streams) and the factory that picks one from settings.
"""
