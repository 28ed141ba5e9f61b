"""events domain of the operators' API."""
