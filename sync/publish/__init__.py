"""Publishing: applying a plan to VK.

run (a run from lock to status) → executor (plan items → VK calls, packed into requests) →
transport (`execute` requests) → connections.vk_client. Collaborators of the executor: albums,
the photo pipeline, the link state machine (links) and persistence (records); recovery
resolves links a lost answer left `creating`.
"""
