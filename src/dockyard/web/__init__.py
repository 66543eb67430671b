"""The web pages: the Insights dashboard a publisher signs in to, server-rendered over the same services as the
Hub API and the DVP Data API."""
