"""The start-up directory ``statesafe run`` puts first on PYTHONPATH (holds sitecustomize.py)."""
