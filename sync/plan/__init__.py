"""Planning: what a publishing run will do, computed without writing to VK.

inputs (database → plain data) → rules (product → desired VK item) → planner (snapshots →
plan), with adoption (matching VK items we did not make) and the preview service.
"""
