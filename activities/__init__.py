"""Temporal activities: the only code that talks to Postgres or the outside for a workflow.

Each class groups the activities of one concern around the dependencies they need; the
worker instantiates them once and registers the bound methods.
"""
