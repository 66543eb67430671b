"""The OCI Distribution API: blobs, uploads, manifests, tags, referrers and the token service."""
