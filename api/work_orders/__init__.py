"""work orders domain of the operators' API."""
