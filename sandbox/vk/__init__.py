"""A local emulator of the VK API for VK Market: see sandbox.vk.app."""
