-- Manifest requests -> actions, by the rules table of Docker's "Insights and analytics" (the rules in prose,
-- and the decisions where the table is silent, are in classify.py).
--
-- Input {events}: the status-200 requests of a time range, narrowed by encode.sql (or by the embedded
-- engine's equivalent in classify.py), one row per request:
--   k    the key: client pseudonym, user agent, namespace and repository, hashed
--   t    time in microseconds since the epoch (UTC)
--   x    4 * d + 2 * (HEAD) + (by digest), where d > 0 identifies the digest the request is about (the
--        reference for a request by digest, the digest a tag resolved to) and d = 0 means unknown
--   rid  row id: requests of one key at the same microsecond keep this order
-- Rows before {day_start} or from {day_end} on (microseconds) are context, never emitted: the previous day's
-- last window, and the next day's first window (a HEAD just before midnight is a pull if its GET follows).
-- Input {carry}: (k, start) for each key whose last request of the previous day was a free GET by digest
-- (see below), and whether that GET started an action. Empty when nothing precedes the range.
--
-- Output: one row per action started in [{day_start}, {day_end}): rid and action (k, start NULL); and one
-- row per key whose last request before {day_end} is a free GET by digest at most {window} microseconds
-- before it: k and start (rid, action NULL), the next day's {carry}.
--
-- Written for DuckDB and kept portable (analytics/spark.py transpiles it with sqlglot, and tests run it on
-- Spark): window frames inline, no engine-only functions. This is the specification: the embedded engine runs
-- the same rules vectorised in numpy (apply_rules in classify.py), and tests hold the two equal row for row, so
-- a change here goes there too.
WITH ordered AS (
    SELECT
        k, t, x, rid,
        row_number() OVER w AS rn,
        lag(t, 1) OVER w AS p1_t,
        lag(x, 1) OVER w AS p1_x,
        lag(t, 2) OVER w AS p2_t,
        lag(x, 2) OVER w AS p2_x,
        lead(t, 1) OVER w AS n1_t,
        lead(x, 1) OVER w AS n1_x
    FROM {events}
    WINDOW w AS (PARTITION BY k ORDER BY t, rid)
),
requests AS (
    -- p1, p2: the key's previous two requests; n1: its next one.
    SELECT
        k, t, rid, rn,
        x % 4 >= 2 AS hd, x % 2 = 1 AS dg, x // 4 AS dig,
        p1_t, p1_x % 4 >= 2 AS p1_hd, p1_x % 2 = 1 AS p1_dg, p1_x // 4 AS p1_dig,
        p2_t, p2_x % 4 >= 2 AS p2_hd, p2_x // 4 AS p2_dig,
        n1_t, n1_x % 4 >= 2 AS n1_hd, n1_x % 2 = 1 AS n1_dg, n1_x // 4 AS n1_dig
    FROM ordered
),
steps AS (
    SELECT
        k, t, rid, rn, hd, dg, dig,
        -- First follow-up: a GET by digest right after a HEAD (by tag or digest) when it fetches the digest
        -- the HEAD resolved to, or right after a GET by tag when it fetches another (platform) digest;
        -- within the window of that request.
        coalesce(
            NOT hd AND dg AND t - p1_t <= {window}
            AND ((p1_hd AND p1_dig > 0 AND dig = p1_dig) OR (NOT p1_hd AND NOT p1_dg AND dig <> p1_dig)),
            false
        ) AS first_follow_up,
        -- Second follow-up: HEAD, GET of its digest, then this GET of another digest, all within the HEAD's
        -- window.
        coalesce(
            NOT hd AND dg AND p2_hd AND p2_dig > 0 AND NOT p1_hd AND p1_dg AND p1_dig = p2_dig AND dig <> p1_dig
            AND t - p2_t <= {window},
            false
        ) AS second_follow_up,
        -- A HEAD by tag followed by the GET of the digest it resolved to is a pull; alone, a version check.
        coalesce(
            hd AND NOT dg AND dig > 0 AND NOT n1_hd AND n1_dg AND n1_dig = dig AND n1_t - t <= {window},
            false
        ) AS head_pulled,
        t < {day_end} AND coalesce(n1_t >= {day_end}, true) AS last_of_day,
        t < {day_start} AND coalesce(n1_t >= {day_start}, true) AS last_of_context
    FROM requests
),
-- GETs by digest that no HEAD or GET by tag took as a follow-up ("free" ones) pair up among themselves, by
-- the rule "GET by digest, then a GET of another digest": one starts an action and takes the next as its
-- follow-up when that one is the key's very next request, fetches another digest and comes within the
-- window; the one after starts again. The previous day's last free GET of a key arrives with its known role
-- from {carry}, so a run of such GETs across midnight pairs up exactly as it would in one piece.
free AS (
    SELECT s.k, s.t, s.dig, s.rid, s.rn, s.last_of_day, s.last_of_context, c.start AS carried
    FROM steps AS s
    LEFT JOIN {carry} AS c ON c.k = s.k AND s.last_of_context
    WHERE NOT s.hd AND s.dg AND (
        CASE
            WHEN s.last_of_context THEN c.start IS NOT NULL
            ELSE NOT (s.first_follow_up OR s.second_follow_up)
        END
    )
),
linked AS (
    SELECT
        k, t, rid, rn, last_of_day, carried,
        coalesce(
            NOT last_of_context AND lag(rn, 1) OVER f = rn - 1 AND dig <> lag(dig, 1) OVER f
            AND t - lag(t, 1) OVER f <= {window},
            false
        ) AS linked
    FROM free
    WINDOW f AS (PARTITION BY k ORDER BY rn)
),
runs AS (
    SELECT
        k, t, rid, rn, last_of_day, carried,
        sum(CASE WHEN linked THEN 0 ELSE 1 END) OVER (
            PARTITION BY k ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS run
    FROM linked
),
paired AS (
    -- Odd positions in a run start actions, unless the run began yesterday with a GET that did not.
    SELECT
        k, t, rid, last_of_day,
        (row_number() OVER (PARTITION BY k, run ORDER BY rn) % 2 = 1) = first_value(coalesce(carried, true)) OVER (
            PARTITION BY k, run ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS starts
    FROM runs
)
SELECT
    rid,
    CASE WHEN dg THEN 'pull_by_digest' WHEN NOT hd OR head_pulled THEN 'pull_by_tag' ELSE 'version_check' END
        AS action,
    CAST(NULL AS BIGINT) AS k,
    CAST(NULL AS BOOLEAN) AS start
FROM steps
WHERE t >= {day_start} AND t < {day_end} AND (hd OR NOT dg)
UNION ALL
SELECT rid, 'pull_by_digest', NULL, NULL
FROM paired
WHERE t >= {day_start} AND t < {day_end} AND starts
UNION ALL
SELECT NULL, NULL, k, starts
FROM paired
WHERE last_of_day AND t >= {day_start} AND t >= {day_end} - {window}
