-- The raw export of one period: one row per action, Docker's columns in Docker's order, without the client
-- pseudonym. `tag` is the reference when it is a tag; `type` is the IP type (business, isp, hosting, education
-- or empty). Rows come ordered by namespace, then time. Written for DuckDB, portable to Spark (sqlglot).
SELECT
    namespace AS export_namespace,
    action,
    strftime(ts, '%Y-%m-%d') AS action_day,
    country,
    digest,
    method AS http_method,
    host,
    namespace,
    reference,
    repository,
    CASE WHEN reference LIKE '%:%' THEN NULL ELSE reference END AS tag,
    strftime(ts, '%Y-%m-%d %H:%M:%S') AS timestamp,
    ip_type AS type,
    ua_tool AS user_agent_tool,
    ua_version AS user_agent_version,
    domain
FROM {actions}
WHERE ts >= {start} AND ts < {end}
ORDER BY namespace, ts, repository, reference
