"""The run-time patches, one module per patch (or tight group), each defining ``PATCH``.

Each module's docstring says why it is a patch and not a seam; its ``PATCH`` names the
stock-equivalence tests guarding it, the exact upstream versions it was written for and
the attributes it replaces. Importing a module patches nothing: the launcher applies
the patches listed in :mod:`frontline.runtime.registry` (which says how to add one).
"""
