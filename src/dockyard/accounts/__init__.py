"""Identity and permissions: users, organisations, memberships, and the one `authorize` every face uses."""
