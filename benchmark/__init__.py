"""bench: a plugin-based benchmark harness for recommender and reconstruction models.

The plugin contract is :mod:`benchmark.hookspec`; the types plugins use are in :mod:`benchmark.api`.
"""
