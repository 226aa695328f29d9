import GRDB

/// Append-only, named migrations. Never edit one that has shipped: add a new one.
enum Migrations {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("2026-11-22 foundation") { db in
            try db.execute(sql: """
                CREATE TABLE salts (
                    day INTEGER PRIMARY KEY,          -- UTC day number the salt is current on
                    salt BLOB NOT NULL
                ) STRICT;

                CREATE TABLE sessions (
                    id INTEGER PRIMARY KEY,
                    site TEXT NOT NULL,
                    visitor BLOB NOT NULL,            -- 16-byte salted hash, never an IP
                    started_at INTEGER NOT NULL,      -- ms since 1970, UTC
                    last_seen INTEGER NOT NULL,
                    entry_path TEXT NOT NULL,
                    exit_path TEXT NOT NULL,
                    pageviews INTEGER NOT NULL DEFAULT 0,
                    events INTEGER NOT NULL DEFAULT 0,
                    referrer_host TEXT,
                    browser TEXT NOT NULL,
                    os TEXT NOT NULL,
                    device TEXT NOT NULL
                ) STRICT;
                CREATE INDEX sessions_by_visitor ON sessions(site, visitor, last_seen);
                CREATE INDEX sessions_by_start ON sessions(site, started_at);

                CREATE TABLE events (
                    id INTEGER PRIMARY KEY,
                    site TEXT NOT NULL,
                    ts INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    host TEXT NOT NULL,
                    path TEXT NOT NULL,
                    query TEXT,                       -- JSON object of allow-listed parameters
                    referrer_host TEXT,
                    referrer_path TEXT,
                    props TEXT,                       -- JSON object
                    visitor BLOB NOT NULL,
                    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                    browser TEXT NOT NULL,
                    os TEXT NOT NULL,
                    device TEXT NOT NULL,
                    client_id TEXT
                ) STRICT;
                CREATE INDEX events_by_time ON events(site, ts);
                CREATE INDEX events_by_session ON events(session_id);
                CREATE UNIQUE INDEX events_dedup ON events(site, client_id) WHERE client_id IS NOT NULL;

                CREATE TABLE users (
                    id INTEGER PRIMARY KEY,
                    username TEXT NOT NULL UNIQUE,
                    password_hash TEXT NOT NULL,      -- PBKDF2-SHA256, salted
                    created_at INTEGER NOT NULL
                ) STRICT;

                CREATE TABLE login_sessions (
                    token_hash BLOB PRIMARY KEY,      -- SHA-256 of the cookie value
                    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                ) STRICT;
                """)
        }
        migrator.registerMigration("2026-11-22 audit log") { db in
            try db.execute(sql: """
                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,              -- ms since 1970, UTC
                    actor TEXT NOT NULL,              -- dashboard user, "api token" or "cli"
                    action TEXT NOT NULL,             -- export or erase
                    site TEXT NOT NULL,
                    subject_hash TEXT NOT NULL,       -- SHA-256 of the subject selector, never the raw ID
                    rows TEXT NOT NULL                -- JSON object of row counts per table
                ) STRICT;
                """)
        }
        // user_hash: HMAC of the site's user ID (persistent identity).
        migrator.registerMigration("2026-11-22 persistent identity") { db in
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN user_hash BLOB;
                CREATE INDEX events_by_user ON events(site, user_hash) WHERE user_hash IS NOT NULL;
                CREATE INDEX events_by_visitor ON events(site, visitor);
                """)
        }
        migrator.registerMigration("2026-11-22 audit subject kind") { db in
            // session, visitor or user. (No SQL comment here: SQLite splices ADD COLUMN text
            // into the stored CREATE TABLE statement.)
            try db.execute(sql: "ALTER TABLE audit_log ADD COLUMN subject_kind TEXT NOT NULL DEFAULT ''")
        }
        // Visit attributes on sessions; the visitor index gains ts (the writer reads a
        // visitor's events of the day to count distinct visitors); a path index for page
        // filters and journeys; rollups per site,
        // dimension, value and UTC day (hour for dim 'hour'); and the goal rules each
        // site's rollups were built with; public read-only links, one per site, by the
        // SHA-256 of their token. (No SQL comments: see "audit subject kind".)
        migrator.registerMigration("2026-11-22 analytics rollups") { db in
            try db.execute(sql: """
                ALTER TABLE sessions ADD COLUMN channel TEXT NOT NULL DEFAULT 'Direct';
                ALTER TABLE sessions ADD COLUMN utm_source TEXT NOT NULL DEFAULT '';
                ALTER TABLE sessions ADD COLUMN utm_medium TEXT NOT NULL DEFAULT '';
                ALTER TABLE sessions ADD COLUMN utm_campaign TEXT NOT NULL DEFAULT '';
                ALTER TABLE sessions ADD COLUMN utm_term TEXT NOT NULL DEFAULT '';
                ALTER TABLE sessions ADD COLUMN utm_content TEXT NOT NULL DEFAULT '';
                ALTER TABLE sessions ADD COLUMN screen TEXT NOT NULL DEFAULT '';
                ALTER TABLE sessions ADD COLUMN language TEXT NOT NULL DEFAULT '';
                ALTER TABLE sessions ADD COLUMN country TEXT NOT NULL DEFAULT '';

                DROP INDEX events_by_visitor;
                CREATE INDEX events_by_visitor_time ON events(site, visitor, ts);
                CREATE INDEX events_by_path ON events(site, path, ts);

                CREATE TABLE rollups (
                    site TEXT NOT NULL,
                    dim TEXT NOT NULL,
                    bucket INTEGER NOT NULL,
                    value TEXT NOT NULL,
                    visitors INTEGER NOT NULL DEFAULT 0,
                    hits INTEGER NOT NULL DEFAULT 0,
                    pageviews INTEGER NOT NULL DEFAULT 0,
                    sessions INTEGER NOT NULL DEFAULT 0,
                    bounces INTEGER NOT NULL DEFAULT 0,
                    duration INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (site, dim, bucket, value)
                ) STRICT, WITHOUT ROWID;

                CREATE TABLE rollup_state (
                    site TEXT PRIMARY KEY,
                    fingerprint TEXT NOT NULL
                ) STRICT;

                CREATE TABLE share_links (
                    token_hash BLOB PRIMARY KEY,
                    site TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL
                ) STRICT;
                """)
        }
        // Session replay: recordings (one per visit), their page loads and compressed
        // chunks; stylesheets stored once by SHA-256 with a count of the recordings that
        // reference them; selectors picked for erasure; picker links (one-time) and picker
        // sessions by the SHA-256 of their token.
        migrator.registerMigration("2026-11-22 session replay") { db in
            try db.execute(sql: """
                CREATE TABLE recordings (
                    id INTEGER PRIMARY KEY,
                    site TEXT NOT NULL,
                    visitor BLOB NOT NULL,
                    session_id INTEGER,
                    started_at INTEGER NOT NULL,
                    last_at INTEGER NOT NULL,
                    received_at INTEGER NOT NULL,
                    pages INTEGER NOT NULL DEFAULT 0,
                    events INTEGER NOT NULL DEFAULT 0,
                    raw_bytes INTEGER NOT NULL DEFAULT 0,
                    stored_bytes INTEGER NOT NULL DEFAULT 0,
                    clicks INTEGER NOT NULL DEFAULT 0,
                    rage_clicks INTEGER NOT NULL DEFAULT 0,
                    entry_url TEXT NOT NULL DEFAULT '',
                    width INTEGER NOT NULL DEFAULT 0,
                    height INTEGER NOT NULL DEFAULT 0
                ) STRICT;
                CREATE INDEX recordings_by_start ON recordings(site, started_at);
                CREATE INDEX recordings_by_visitor ON recordings(site, visitor, received_at);
                CREATE INDEX recordings_by_session ON recordings(session_id);
                CREATE INDEX recordings_by_received ON recordings(site, received_at);

                CREATE TABLE replay_pages (
                    page TEXT NOT NULL,
                    recording_id INTEGER NOT NULL,
                    url TEXT NOT NULL,
                    started_at INTEGER NOT NULL,
                    PRIMARY KEY (page, recording_id)
                ) STRICT;
                CREATE INDEX replay_pages_by_recording ON replay_pages(recording_id, started_at);

                CREATE TABLE replay_chunks (
                    recording_id INTEGER NOT NULL,
                    page TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    first_ts INTEGER NOT NULL,
                    last_ts INTEGER NOT NULL,
                    events INTEGER NOT NULL,
                    raw_bytes INTEGER NOT NULL,
                    data BLOB NOT NULL,
                    PRIMARY KEY (recording_id, page, seq)
                ) STRICT;

                CREATE TABLE replay_styles (
                    hash BLOB PRIMARY KEY,
                    text BLOB NOT NULL,
                    bytes INTEGER NOT NULL,
                    refs INTEGER NOT NULL
                ) STRICT;

                CREATE TABLE replay_style_refs (
                    recording_id INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    PRIMARY KEY (recording_id, hash)
                ) STRICT, WITHOUT ROWID;

                CREATE TABLE replay_selectors (
                    site TEXT NOT NULL,
                    selector TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (site, selector)
                ) STRICT;

                CREATE TABLE picker_tokens (
                    token_hash BLOB PRIMARY KEY,
                    site TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                ) STRICT;
                """)
        }
        // The privacy page pages one site's audit log in SQL.
        migrator.registerMigration("2026-12-04 audit log by site") { db in
            try db.execute(sql: "CREATE INDEX audit_log_by_site ON audit_log(site, id)")
        }
        // A recording that reached its caps stops growing and says when.
        migrator.registerMigration("2026-12-04 recording caps") { db in
            try db.execute(sql: "ALTER TABLE recordings ADD COLUMN capped_at INTEGER")
        }
        // Cross rollups (issue 12): per closed day, every table's cells of what passes each
        // value a view can be filtered by (and an event's properties, a page's journeys), so a
        // filtered view reads a blob per day instead of every event. `cross_days` says which
        // days are complete and with which rules; the writer deletes the rows of days it writes to.
        migrator.registerMigration("2026-12-05 cross rollups") { db in
            try db.execute(sql: """
                CREATE TABLE cross_rollups (
                    site TEXT NOT NULL,
                    day INTEGER NOT NULL,
                    fdim TEXT NOT NULL,
                    fvalue TEXT NOT NULL,
                    cells BLOB NOT NULL,            -- CrossCodec: every table's cells of the visits with this value
                    PRIMARY KEY (site, day, fdim, fvalue)
                ) STRICT, WITHOUT ROWID;

                CREATE TABLE cross_days (
                    site TEXT NOT NULL,
                    day INTEGER NOT NULL,
                    stamp TEXT NOT NULL,
                    ready INTEGER NOT NULL,
                    PRIMARY KEY (site, day)
                ) STRICT, WITHOUT ROWID;
                """)
        }
        // Identity links (issue 13): an SDK's identify or alias call says "the person with
        // this ID is that user". Both are stored only as HMACs with the server secret, with
        // the allow-listed person properties, so a data-subject request by user ID finds the
        // person's anonymous visits too.
        migrator.registerMigration("2026-12-06 identity links") { db in
            try db.execute(sql: """
                CREATE TABLE identity_links (
                    site TEXT NOT NULL,
                    visitor BLOB NOT NULL,          -- HMAC of the ID the person had (anonymous ID, alias, or the user ID itself)
                    user_hash BLOB NOT NULL,        -- HMAC of the user ID
                    props TEXT,                     -- allow-listed, scrubbed person properties (JSON object)
                    first_seen INTEGER NOT NULL,
                    last_seen INTEGER NOT NULL,
                    PRIMARY KEY (site, visitor, user_hash)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX identity_links_by_user ON identity_links(site, user_hash);
                CREATE INDEX identity_links_by_time ON identity_links(site, last_seen);
                """)
        }
        // Several dashboard users: a role (admin or viewer) and, for viewers, the sites
        // they may see (site keys, comma-separated). Users from before are admins.
        migrator.registerMigration("2026-12-07 user roles") { db in
            try db.execute(sql: "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'")
            try db.execute(sql: "ALTER TABLE users ADD COLUMN sites TEXT NOT NULL DEFAULT ''")
        }
        // Surveys (issue 15): NPS and sentiment answers, and the times a survey was shown
        // (score NULL), attached to the visit's session like events and recordings. The
        // device and country are copied from that session so the Feedback tab reads one table.
        migrator.registerMigration("2026-12-08 feedback") { db in
            try db.execute(sql: """
                CREATE TABLE feedback (
                    id INTEGER PRIMARY KEY,
                    site TEXT NOT NULL,
                    visitor BLOB NOT NULL,
                    session_id INTEGER,
                    received_at INTEGER NOT NULL,
                    kind TEXT NOT NULL,             -- nps | sentiment
                    score INTEGER,                  -- NULL: the survey was shown, not answered
                    comment TEXT,                   -- PII scrubbed, length-limited
                    path TEXT NOT NULL,             -- PII scrubbed
                    device TEXT NOT NULL,
                    country TEXT NOT NULL
                ) STRICT;
                CREATE INDEX feedback_by_time ON feedback(site, received_at);
                CREATE INDEX feedback_by_visitor ON feedback(site, visitor);
                CREATE INDEX feedback_by_session ON feedback(session_id);
                """)
        }
        // Heatmaps (issue 15), kept per recording as chunks arrive: clicks by page path,
        // device class, element tag path and 5 % cell of the element's box (with dead and
        // rage counts), the deepest share of each page view reached, the clicks whose
        // dead-or-live fate the next chunk decides, and where each page load's chunks left off.
        migrator.registerMigration("2026-12-09 heatmaps") { db in
            try db.execute(sql: """
                CREATE TABLE heatmap_cells (
                    recording_id INTEGER NOT NULL,
                    site TEXT NOT NULL,
                    path TEXT NOT NULL,
                    device TEXT NOT NULL,
                    element TEXT NOT NULL,          -- tag path: body>main:nth-of-type(1)>button:nth-of-type(2)
                    cx INTEGER NOT NULL,            -- 0–19 across the element's box
                    cy INTEGER NOT NULL,            -- 0–19 down it
                    clicks INTEGER NOT NULL,
                    dead INTEGER NOT NULL,
                    rage INTEGER NOT NULL,
                    last_at INTEGER NOT NULL,
                    PRIMARY KEY (recording_id, path, device, element, cx, cy)
                ) STRICT, WITHOUT ROWID;
                -- Covering: a page's heatmap is read from the index alone, never the table.
                CREATE INDEX heatmap_cells_by_page ON heatmap_cells(site, path, device, last_at, element, cx, cy, clicks, dead, rage, recording_id);

                CREATE TABLE heatmap_depths (
                    recording_id INTEGER NOT NULL,
                    page TEXT NOT NULL,             -- the page load
                    path TEXT NOT NULL,
                    site TEXT NOT NULL,
                    device TEXT NOT NULL,
                    depth INTEGER NOT NULL,         -- per mille of the page the viewport's bottom reached
                    last_at INTEGER NOT NULL,
                    PRIMARY KEY (recording_id, page, path)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX heatmap_depths_by_page ON heatmap_depths(site, path, device, last_at, depth);

                CREATE TABLE heatmap_pending (
                    recording_id INTEGER NOT NULL,
                    page TEXT NOT NULL,
                    ts INTEGER NOT NULL,
                    path TEXT NOT NULL,
                    device TEXT NOT NULL,
                    element TEXT NOT NULL,
                    cx INTEGER NOT NULL,
                    cy INTEGER NOT NULL,
                    PRIMARY KEY (recording_id, page, ts, element, cx, cy)
                ) STRICT, WITHOUT ROWID;

                CREATE TABLE heatmap_pages (
                    recording_id INTEGER NOT NULL,
                    page TEXT NOT NULL,
                    path TEXT NOT NULL,
                    width INTEGER NOT NULL,
                    PRIMARY KEY (recording_id, page)
                ) STRICT, WITHOUT ROWID;
                """)
        }
        // The ClickHouse outbox (storage.backend: clickhouse): events committed here and
        // acknowledged, shipped in seq order, deleted once ClickHouse confirmed them.
        // `row` is the event as one JSONEachRow object without node and seq.
        migrator.registerMigration("2026-12-10 clickhouse outbox") { db in
            try db.execute(sql: """
                CREATE TABLE outbox (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    row BLOB NOT NULL
                ) STRICT;
                """)
        }
        // Outbox rows for other ClickHouse tables than `events` (survey answers): `dest`
        // names the table; rows from before are events.
        migrator.registerMigration("2026-12-11 outbox destinations") { db in
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN dest TEXT NOT NULL DEFAULT 'events'")
        }
        return migrator
    }
}
