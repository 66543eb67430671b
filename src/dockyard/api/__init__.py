"""Plumbing shared by the JSON APIs in Docker Hub's style (the Hub API, the DVP Data API): error bodies,
DRF-style pages, routes with and without the trailing slash, sessions and the caller's identity."""
