"""Pulumi components of b2c-signup, one per module."""
