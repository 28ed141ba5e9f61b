"""The alert engine: events to incidents, incidents to escalating pages, pages to people."""
