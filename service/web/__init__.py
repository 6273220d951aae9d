"""Server-rendered pages (public and organizer) and .ics feeds: thin adapters over the domain."""
