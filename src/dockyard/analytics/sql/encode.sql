-- The classifier's narrow input (see classify.sql) from the shared event columns of {events} (plus a row id
-- `rid`): only status-200 requests count, and only those of [{context_start}, {context_end}) (microseconds).
-- The embedded engine builds the same relation from the Parquet dictionaries (classify.py) without decoding a
-- string per row, and with exact digest numbers; this form is what a distributed engine runs. It numbers digests
-- by a 40-bit hash (a collision within one key's window is about 2^-40 likely). On Spark, analytics/spark.py
-- writes xxhash64 without its sign bit for hash (Spark's hash is 32 bits wide, and would merge keys).
WITH narrowed AS (
    SELECT
        hash(client, user_agent, namespace, repository) AS k,
        date_diff('microsecond', TIMESTAMP '1970-01-01 00:00:00', ts) AS t,
        method = 'HEAD' AS hd,
        reference LIKE '%:%' AS dg,
        CASE WHEN reference LIKE '%:%' THEN reference ELSE digest END AS dig,
        rid
    FROM {events}
    WHERE status = 200
)
SELECT
    CAST(k % 9223372036854775807 AS BIGINT) AS k,
    t,
    4 * CASE WHEN dig IS NULL THEN 0 ELSE CAST(hash(dig) % 1099511627775 AS BIGINT) + 1 END
        + CASE WHEN hd THEN 2 ELSE 0 END
        + CASE WHEN dg THEN 1 ELSE 0 END AS x,
    rid
FROM narrowed
WHERE t >= {context_start} AND t < {context_end}
