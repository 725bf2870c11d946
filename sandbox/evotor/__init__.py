"""A local emulator of the Evotor cloud API v2 (docs/contracts/evotor-api.md §3-§6), for the demo and the tests."""
