-- Mizan configuration.  Plain Lua: settings are assigned into sections, and
-- an unknown key or a bad value stops the server with file:line: what.
-- Every setting has a default (shown here); delete a line to use it.
-- `mizan check` validates this file.

server.listen = "127.0.0.1:8080"   -- ADDR:PORT, or [IPv6]:PORT; port 0 picks a free one
server.threads = 2                 -- HTTP worker threads (each runs its own epoll loop)
server.base_url = "http://127.0.0.1:8080" -- links in mail point here

store.path = "mizan.db"            -- SQLite database file, relative to where mizan runs
-- store.url = "sqlite:mizan.db"   -- the same as a URL (SCHEME:WHERE); --db takes either form
store.synchronous = "full"         -- "full": an acknowledged batch survives power loss
store.cache_mib = 16               -- SQLite page cache per connection
store.busy_timeout_ms = 5000
store.check_interval_s = 86400     -- PRAGMA quick_check this often (and at start); 0: at start only

limits.body_bytes = 16 * MiB       -- largest request body; larger gets 413 before it is read
limits.bodies_bytes = 256 * MiB    -- all bodies being read at once; past it 503 + Retry-After
limits.batch_events = 10000        -- most events in one POST (or one import transaction)
limits.connections = 512           -- open connections in all
limits.per_ip = 64                 -- open connections from one address (0: no limit)
limits.timeout_s = 30              -- a connection idle this long is closed
limits.connection_memory = 64 * KiB -- per-connection buffer for headers and reading
limits.attrs_bytes = 4 * KiB       -- an event's `attrs`, serialised
limits.attrs_depth = 8             -- nesting depth of `attrs`
limits.future_s = 86400            -- how far ahead of the clock an event may be dated
limits.query_rows = 10000          -- most events GET /api/v1/events returns at once

-- Tokens may also be made with `mizan token add --role ROLE --name NAME`,
-- which stores them in the database.  Here, only the SHA-256 of a secret:
--   auth.tokens = { { name = "feeder", role = "ingest", sha256 = "<64 hex digits>" } }

-- Demo data is loaded only when asked for: `mizan serve --demo` loads
-- demo.when_empty generated events into an empty store and marks it as
-- demo data (a banner on every page, [DEMO] in every mail's subject).
-- A demo store's mail goes only to demo.mail_to; unset, none is sent.
demo.when_empty = 200000
demo.seed = 1
-- demo.mail_to = "tester@example.org"

-- Indicators: C plugins (*.so) and Lua scripts (*.lua), each folder in name
-- order.  Searched: $MIZAN_PLUGIN_PATH (and $MIZAN_SCRIPT_PATH), then the
-- folders below, then the defaults: `plugins` and `scripts` beside the mizan
-- binary (the build tree's), and the installed folders.  The folders below add
-- to the defaults.  A name provided twice is refused unless listed in
-- plugins.replace (the one found first is then used).
--   plugins.dirs = { "/srv/mizan/plugins" }
--   scripts.dirs = { "/srv/mizan/scripts" }
--   plugins.replace = { "training_roi" }
scripts.memory_mib = 64            -- per script
scripts.instructions = 10000000    -- per call into a script
scripts.seconds = 2                -- per call into a script (wall clock)

-- Evaluation runs in a worker process that the server restarts if a plugin
-- crashes or a call hangs.
evaluation.timezone = "Asia/Amman" -- periods (months, quarters, years) begin at local midnight
evaluation.slices = { "mission", "country", "service", "channel", "sex", "age_group" }
evaluation.interval_s = 300        -- evaluate at least this often
evaluation.after_ingest_s = 1      -- and this soon after new events arrive
evaluation.stall_s = 15            -- a worker that makes no progress this long is killed
evaluation.timeout_s = 1800        -- the longest one evaluation may take
evaluation.retry_s = 3600          -- an indicator that crashed or hung is retried after this
evaluation.run_instructions = 2000000000 -- script instructions one KPI may use per evaluation
evaluation.run_seconds = 120       -- seconds one KPI may spend stepping events per evaluation
evaluation.memory_mib = 1024       -- the worker's resident memory; past it, it is killed
evaluation.min_answers = 30        -- default for survey KPIs: fewer answers are "insufficient data"

-- Alerts: a KPI whose open period's forecast misses its target is at risk; a
-- closed period below target is missed.  Only changes of state send mail.
alerts.slices = {}                 -- also raise alerts per slice of these dimensions
alerts.min_state_s = 0             -- a new state must hold this long before it is announced
alerts.repeat_s = 7 * 86400        -- remind of an unacknowledged missed alert this often
alerts.stale_s = 3 * 86400         -- a mission silent this long (and 10x its usual gap) is stale
alerts.warn = 0.1                  -- default amber band: within 10% of the target

-- Mail to KPI owners and managers.  With no smtp_url, messages wait in the
-- outbox (GET /api/v1/outbox) until one is set.
mail.smtp_url = ""                 -- "smtp://mail.example:587" (STARTTLS) or "smtps://...:465"
mail.tls = "starttls"              -- none | starttls | implicit; TLS is required when set
mail.verify_peer = true            -- verify the server's certificate
mail.user = ""
mail.password = ""
mail.from = "mizan@localhost"
mail.from_name = "Mizan"
mail.attempts = 8                  -- then the message is kept as failed
mail.backoff_s = 30                -- first retry delay, doubling ...
mail.backoff_max_s = 3600          -- ... up to this

-- The strategy: goals, KPIs, owners, default targets.
include "strategy.lua"
