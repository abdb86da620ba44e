"""Accepting notifications, fanning them out into messages, and dispatching them."""
