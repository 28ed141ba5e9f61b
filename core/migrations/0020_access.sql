-- Access control of the REST API: users, API keys, login throttle, revoked login tokens,
-- personal relative links, and device credentials for the broker.

-- People who log in. org_id is the scope: the user sees that organisation and everything
-- under it (organisations.path prefix). Only an administrator may have no scope (the whole
-- system). token_version is bumped on password, role, scope or activity changes, which
-- invalidates every login token issued before.
CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username       text NOT NULL CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$'),
    name           text NOT NULL DEFAULT '',
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('administrator', 'operator', 'installer', 'viewer')),
    org_id         bigint REFERENCES organisations (id),
    locale         text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
    active         boolean NOT NULL DEFAULT true,
    token_version  integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    CONSTRAINT users_scope_check CHECK (org_id IS NOT NULL OR role = 'administrator')
);
-- Usernames are unique without regard to case ("Wang.Li" and "wang.li" are one person).
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_org_idx ON users (org_id);

-- Keys of machine clients: "swk_<key_id>_<secret>"; key_id is listed, the whole key is stored
-- only as its SHA-256 digest and shown once, at creation.
CREATE TABLE api_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id        text NOT NULL CONSTRAINT api_keys_key_id_key UNIQUE,
    key_hash      text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('administrator', 'operator', 'installer', 'viewer')),
    org_id        bigint REFERENCES organisations (id),
    created_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    CONSTRAINT api_keys_scope_check CHECK (org_id IS NOT NULL OR role = 'administrator')
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id);

-- Failed logins per username and client address; the pair is locked out for the rest of the
-- window after too many. A successful login deletes the row.
CREATE TABLE login_failures (
    username      text NOT NULL,
    client_ip     text NOT NULL,
    failures      integer NOT NULL DEFAULT 0,
    window_start  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (username, client_ip)
);

-- Login tokens revoked before their expiry (logout); rows past expiry are purged on logout.
CREATE TABLE revoked_tokens (
    token_id    text PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expiry_idx ON revoked_tokens (expires_at);

-- Personal links an operator gives a relative: the status of one household, no account.
CREATE TABLE relative_links (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    text NOT NULL CONSTRAINT relative_links_token_hash_key UNIQUE,
    contact_id    bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    site_id       bigint NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    created_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX relative_links_site_idx ON relative_links (site_id);
CREATE INDEX relative_links_contact_idx ON relative_links (contact_id);

-- A device's MQTT credentials: the username and an argon2id hash of the secret, shown once.
-- One current credential per device; issuing again rotates it.
CREATE TABLE device_credentials (
    device_id         text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    username          text NOT NULL CONSTRAINT device_credentials_username_key UNIQUE,
    secret_hash       text NOT NULL,
    issued_at         timestamptz NOT NULL DEFAULT now(),
    revoked_at        timestamptz,
    -- When the broker (dynamic security) last confirmed the current state; NULL: not mirrored.
    broker_synced_at  timestamptz
);
