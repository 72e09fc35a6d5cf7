"""What the pages compute that the API does not: timelines, zips, bundle checks."""
