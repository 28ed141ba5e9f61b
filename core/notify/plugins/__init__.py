"""Apprise plugins smokewatch adds or hardens; core.notify.register_plugins installs them."""
