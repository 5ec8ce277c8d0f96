"""Request and response models of the HTTP contract (API.md), one module per area.

Routes import what they answer from here (routes → crud → models): a router module holds
routes, not the shapes of their bodies.
"""
