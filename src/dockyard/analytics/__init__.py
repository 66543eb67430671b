"""Insights and analytics: capture every manifest request, classify it by Docker's rules, summarise, export."""
