"""All vendor code lives here: a base interface, a sandbox, one module per vendor.

Adding a provider is one module (a subclass of ``Provider``), one entry in
``settings.HUB_PROVIDERS`` and its tests.
"""
