/**
 * Schema migrations, in order. Plain SQL that SQLite and PostgreSQL both accept (TEXT,
 * INTEGER, DOUBLE PRECISION, ISO-8601 UTC timestamps as TEXT), so the one store runs the
 * very same list on both. Never edit a shipped migration: append a new one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'rounds, variants, votes, feedback, processed events',
    sql: [
      `CREATE TABLE rounds (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        number INTEGER NOT NULL,
        brief TEXT NOT NULL,
        author TEXT NOT NULL,
        options TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        closes_at TEXT,
        reminded INTEGER NOT NULL DEFAULT 0,
        closed_at TEXT,
        closed_by TEXT,
        winner_variant_id TEXT,
        winner_creative_id TEXT,
        tie INTEGER NOT NULL DEFAULT 0,
        tally_ts TEXT,
        permalink TEXT,
        images_planned INTEGER NOT NULL DEFAULT 0,
        cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        text_calls INTEGER NOT NULL DEFAULT 0,
        image_calls INTEGER NOT NULL DEFAULT 0,
        offline INTEGER NOT NULL DEFAULT 0,
        synthetic INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        UNIQUE (channel, thread_ts, number)
      )`,
      'CREATE INDEX rounds_author ON rounds (author, created_at)',
      'CREATE INDEX rounds_status ON rounds (status)',
      'CREATE INDEX rounds_created ON rounds (created_at)',
      `CREATE TABLE variants (
        id TEXT PRIMARY KEY,
        round_id TEXT NOT NULL REFERENCES rounds (id),
        label TEXT NOT NULL,
        position INTEGER NOT NULL,
        headline TEXT NOT NULL,
        body TEXT NOT NULL,
        cta TEXT NOT NULL,
        concept TEXT NOT NULL,
        reason TEXT NOT NULL,
        scores TEXT NOT NULL,
        offline INTEGER NOT NULL DEFAULT 0,
        flags TEXT NOT NULL,
        formats TEXT NOT NULL,
        message_ts TEXT,
        file_id TEXT,
        channel TEXT NOT NULL,
        UNIQUE (round_id, label)
      )`,
      'CREATE INDEX variants_message ON variants (channel, message_ts)',
      `CREATE TABLE votes (
        round_id TEXT NOT NULL REFERENCES rounds (id),
        user_id TEXT NOT NULL,
        variant_id TEXT NOT NULL REFERENCES variants (id),
        source TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (round_id, user_id)
      )`,
      `CREATE TABLE vote_events (
        round_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        variant_id TEXT,
        previous_id TEXT,
        source TEXT NOT NULL,
        at TEXT NOT NULL,
        seq INTEGER NOT NULL
      )`,
      'CREATE INDEX vote_events_round ON vote_events (round_id, user_id, seq)',
      `CREATE TABLE feedback (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        message_ts TEXT NOT NULL,
        user_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        used_by TEXT,
        UNIQUE (channel, message_ts)
      )`,
      'CREATE INDEX feedback_thread ON feedback (channel, thread_ts)',
      `CREATE TABLE processed_events (
        key TEXT PRIMARY KEY,
        at TEXT NOT NULL
      )`,
      'CREATE INDEX processed_events_at ON processed_events (at)',
    ],
  },
  {
    version: 2,
    name: 'who started each round (the per-person limit counts every round a person starts)',
    sql: [
      'ALTER TABLE rounds ADD COLUMN started_by TEXT',
      // Before this, only first rounds were counted, by their author: the best record there is.
      'UPDATE rounds SET started_by = author WHERE started_by IS NULL',
      'CREATE INDEX rounds_started_by ON rounds (started_by, created_at)',
    ],
  },
  {
    version: 3,
    name: 'content versions, approvals, exports, imported results (issue 17)',
    sql: [
      `CREATE TABLE variant_versions (
        variant_id TEXT NOT NULL REFERENCES variants (id),
        round_id TEXT NOT NULL REFERENCES rounds (id),
        seq INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        headline TEXT NOT NULL,
        body TEXT NOT NULL,
        cta TEXT NOT NULL,
        formats TEXT NOT NULL,
        by_user TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (variant_id, seq)
      )`,
      'CREATE INDEX variant_versions_round ON variant_versions (round_id)',
      `CREATE TABLE approvals (
        round_id TEXT NOT NULL REFERENCES rounds (id),
        variant_id TEXT NOT NULL REFERENCES variants (id),
        user_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        at TEXT NOT NULL,
        voided_at TEXT,
        voided_reason TEXT,
        PRIMARY KEY (round_id, variant_id, user_id, content_hash)
      )`,
      'CREATE INDEX approvals_variant ON approvals (variant_id)',
      `CREATE TABLE exports (
        id TEXT PRIMARY KEY,
        ad_key TEXT NOT NULL,
        round_id TEXT,
        variant_id TEXT,
        label TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        platforms TEXT NOT NULL,
        creative_id TEXT,
        by_user TEXT NOT NULL,
        at TEXT NOT NULL,
        published TEXT
      )`,
      'CREATE INDEX exports_key ON exports (ad_key)',
      'CREATE INDEX exports_round ON exports (round_id)',
      `CREATE TABLE result_rows (
        import_id TEXT NOT NULL,
        line INTEGER NOT NULL,
        platform TEXT NOT NULL,
        source TEXT NOT NULL,
        ad_key TEXT,
        platform_ad_id TEXT,
        ad_name TEXT,
        impressions BIGINT,
        clicks BIGINT,
        conversions DOUBLE PRECISION,
        raw TEXT NOT NULL,
        reason TEXT,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (import_id, line)
      )`,
      'CREATE INDEX result_rows_key ON result_rows (ad_key)',
    ],
  },
  {
    version: 4,
    name: 'copy per locale of each variant (issue 18, --locales)',
    // JSON: [{ locale, status, headline, body, cta, flags }]; NULL for a round without locales.
    sql: ['ALTER TABLE variants ADD COLUMN locales TEXT'],
  },
  {
    version: 5,
    name: 'the audience segment each variant was made for (issue 18: --audiences)',
    sql: ['ALTER TABLE variants ADD COLUMN audience TEXT'],
  },
  {
    version: 6,
    name: 'one vote per person per audience segment (issue 18: --audiences)',
    // A primary key cannot be changed in place on SQLite, so the table is rebuilt (the same
    // statements on PostgreSQL). '' is "no audience": a key column cannot be NULL. Each kept
    // vote goes to the segment of the variant it is for; nothing references votes. (On PostgreSQL
    // the key keeps its first name, votes_v6_pkey.)
    sql: [
      `CREATE TABLE votes_v6 (
        round_id TEXT NOT NULL REFERENCES rounds (id),
        user_id TEXT NOT NULL,
        audience TEXT NOT NULL DEFAULT '',
        variant_id TEXT NOT NULL REFERENCES variants (id),
        source TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (round_id, user_id, audience)
      )`,
      `INSERT INTO votes_v6 (round_id, user_id, audience, variant_id, source, at)
        SELECT v.round_id, v.user_id, COALESCE(x.audience, ''), v.variant_id, v.source, v.at
        FROM votes v LEFT JOIN variants x ON x.id = v.variant_id`,
      'DROP TABLE votes',
      'ALTER TABLE votes_v6 RENAME TO votes',
    ],
  },
];
