-- Summaries of one period from the actions of {actions} started in [{start}, {end}), at three levels:
-- reference (tag or digest), repository and namespace. Action counts add up from references to repositories
-- to namespaces; `unique_ip_address` does not: it is the exact number of distinct client pseudonyms among the
-- level's own actions, counted from the actions (never added up from smaller periods or levels).
-- `last_pulled` is the time of the period's last pull (by tag or by digest).
-- Written for DuckDB; analytics/spark.py transpiles it to Spark SQL (xxhash64 for hash). This is the
-- specification: the embedded engine computes the same rows in numpy (summaries.py), and tests hold the two
-- equal, so a change here goes there too.
WITH acts AS (
    SELECT
        hash(namespace, repository, reference) AS ref_key,
        hash(namespace, repository) AS repo_key,
        hash(namespace) AS ns_key,
        client, action, ts, namespace, repository, reference
    FROM {actions}
    WHERE ts >= {start} AND ts < {end}
),
counts AS (
    SELECT
        ref_key, repo_key, ns_key, namespace, repository, reference,
        sum(CASE WHEN action = 'pull_by_tag' THEN 1 ELSE 0 END) AS pull_by_tag,
        sum(CASE WHEN action = 'pull_by_digest' THEN 1 ELSE 0 END) AS pull_by_digest,
        sum(CASE WHEN action = 'version_check' THEN 1 ELSE 0 END) AS version_check,
        max(CASE WHEN action <> 'version_check' THEN ts END) AS last_pulled
    FROM acts
    GROUP BY ref_key, repo_key, ns_key, namespace, repository, reference
),
reference_ips AS (
    SELECT ref_key, count(*) AS ips FROM (SELECT DISTINCT ref_key, client FROM acts) AS pairs GROUP BY ref_key
),
repository_ips AS (
    SELECT repo_key, count(*) AS ips FROM (SELECT DISTINCT repo_key, client FROM acts) AS pairs GROUP BY repo_key
),
namespace_ips AS (
    SELECT ns_key, count(*) AS ips FROM (SELECT DISTINCT ns_key, client FROM acts) AS pairs GROUP BY ns_key
)
SELECT
    'reference' AS level, c.namespace, c.repository, c.reference, i.ips AS unique_ip_address,
    c.pull_by_tag, c.pull_by_digest, c.version_check, c.last_pulled
FROM counts AS c
JOIN reference_ips AS i ON i.ref_key = c.ref_key
UNION ALL
SELECT
    'repository', min(c.namespace), min(c.repository), '', min(i.ips),
    sum(c.pull_by_tag), sum(c.pull_by_digest), sum(c.version_check), max(c.last_pulled)
FROM counts AS c
JOIN repository_ips AS i ON i.repo_key = c.repo_key
GROUP BY c.repo_key
UNION ALL
SELECT
    'namespace', min(c.namespace), '', '', min(i.ips),
    sum(c.pull_by_tag), sum(c.pull_by_digest), sum(c.version_check), max(c.last_pulled)
FROM counts AS c
JOIN namespace_ips AS i ON i.ns_key = c.ns_key
GROUP BY c.ns_key
