"""Provider callbacks: receipts, keypresses and SMS replies (``/callbacks/<provider>/...``)."""
