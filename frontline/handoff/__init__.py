"""Handing a conversation to a human agent.

* :mod:`frontline.handoff.packet`: the context packet (builder, masking, schema).
* :mod:`frontline.handoff.queue`: the queue human agents work from (SQL or Redis
  Streams) and the factory that picks one from settings; its contract is
  :mod:`~frontline.handoff.base`, its entry :mod:`~frontline.handoff.entry`, and the
  one table of how an entry changes state :mod:`~frontline.handoff.transitions`.
* :mod:`frontline.handoff.desk`: what a human agent does with a conversation;
  :mod:`~frontline.handoff.desk_views` what they see of it,
  :mod:`~frontline.handoff.handback` giving it back to the assistant.
"""
