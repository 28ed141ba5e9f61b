"""relative domain of the operators' API."""
