"""incidents domain of the operators' API."""
