"""A dependency that is down is never silence (issue 16, finding 5).

* :mod:`~frontline.resilience.turn`: what failed while one customer message was handled;
* :mod:`~frontline.resilience.outbox`: handoffs recorded while the queue is unreachable,
  delivered once it is back;
* :mod:`~frontline.resilience.fallback`: what the customer is told when a turn failed;
* :mod:`~frontline.resilience.health`: liveness and readiness, each dependency reported.

docs/decisions/dependency-failures.md says why.
"""
