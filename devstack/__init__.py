"""Local stack: moto server, resources from infra/template.json, the Chalice app, snapshots.

Start it with `python -m devstack`. Local-only: nothing here goes into the Lambda package.
"""
