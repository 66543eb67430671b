"""Docker Hub's management API: repositories, tags, images, the community features and the v1 index API."""
