"""summary domain of the operators' API."""
