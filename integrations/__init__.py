"""Adapters to the outside world: Shopify, carriers, payments, email."""
