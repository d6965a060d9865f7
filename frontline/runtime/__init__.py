"""Frontline's runtime for Rasa: the one place where Rasa, Sanic or jsonschema is patched.

Rasa is extended through its documented seams wherever one does the job (graph
components and policies in ``config.yml``, the stores in :mod:`frontline.stores`,
channels in :mod:`frontline.channels`, the audit event broker). Where speed needed an
upstream attribute replaced at run time, the replacement is a patch in
:mod:`frontline.runtime.patches`, listed in :mod:`frontline.runtime.registry`, with the
upstream versions it was written for and the tests proving it equal to stock Rasa.
:mod:`frontline.runtime.launcher` (``python -m frontline.runtime ...``) checks those
versions, applies the patches and verifies they took effect before Rasa's command line
runs; ``FRONTLINE_STOCK_RASA=1`` runs stock Rasa instead. Nothing is patched by import.
"""
