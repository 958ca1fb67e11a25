"""One folder per vendor: the dlt source (``__init__.py``), its settings (endpoints, versions, limits, property
lists, rate-limit header parsing) and its record contracts."""
