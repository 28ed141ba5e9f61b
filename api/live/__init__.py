"""live domain of the operators' API."""
