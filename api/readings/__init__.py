"""readings domain of the operators' API."""
