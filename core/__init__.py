"""What every layer shares and nothing else: where things are (``paths``), how the project is configured
(``settings``) and how to reach the warehouse of either target (``warehouse``). Imports neither Dagster nor dlt."""
