-- Issue 18: whether a person was reached, not only whether a provider accepted the request.
--
-- Each attempt keeps the provider's id for it (Aliyun BizId / CallId, Tencent SerialNo /
-- CallId), so the provider's receipts (SMS status reports, call results, keypresses) find it.
ALTER TABLE notification_attempts
    ADD COLUMN provider_ref text,
    -- reached: delivered to the handset or the call answered; not_reached: the SMS failed at
    -- the handset or the call was not answered (busy, no answer, powered off...).
    ADD COLUMN reach text CHECK (reach IN ('reached', 'not_reached')),
    ADD COLUMN reach_at timestamptz,
    -- The provider's own words for the receipt (shown only in the attempt detail).
    ADD COLUMN reach_detail text,
    -- The person pressed 1 on the call (or replied 1 to the SMS).
    ADD COLUMN acknowledged_at timestamptz;

CREATE INDEX notification_attempts_ref_idx ON notification_attempts (provider_ref)
    WHERE provider_ref IS NOT NULL;

-- Providers retry their callbacks: each item is kept once by its own natural key, so a retry
-- is a no-op (the first insert wins and only it has effects).
CREATE TABLE callback_receipts (
    provider     text NOT NULL,
    kind         text NOT NULL,
    item_key     text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    body         jsonb NOT NULL,
    PRIMARY KEY (provider, kind, item_key)
);

-- The audit log says when a person was reached or not. The allowed actions are extended in
-- place rather than listed again, so actions other migrations added (device commands) are kept.
DO $$
DECLARE
    def text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
    WHERE conrelid = 'incident_log'::regclass AND conname = 'incident_log_action_check';
    IF def IS NOT NULL AND position('''not_reached''' IN def) = 0 THEN
        ALTER TABLE incident_log DROP CONSTRAINT incident_log_action_check;
        EXECUTE 'ALTER TABLE incident_log ADD CONSTRAINT incident_log_action_check '
            || replace(def, 'ARRAY[', 'ARRAY[''reached''::text, ''not_reached''::text, ');
    END IF;
END $$;

-- Tencent voice calls (VMS) go to their own API host (per-destination caps).
CREATE OR REPLACE FUNCTION sw_send_host(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(coalesce(
        substring(url FROM '[?&]endpoint=(?:https?(?::|%3[aA])(?:/|%2[fF]){2})?([^&/%?#]+)'),
        CASE lower(split_part(url, '://', 1))
            WHEN 'aliyunsms' THEN 'dysmsapi.aliyuncs.com'
            WHEN 'alivoice' THEN 'dyvmsapi.aliyuncs.com'
            WHEN 'tencentsms' THEN 'sms.tencentcloudapi.com'
            WHEN 'tencentvoice' THEN 'vms.tencentcloudapi.com'
            WHEN 'wecombot' THEN 'qyapi.weixin.qq.com'
            WHEN 'wxwork' THEN 'qyapi.weixin.qq.com'
            WHEN 'wecom' THEN 'qyapi.weixin.qq.com'
            WHEN 'dingtalk' THEN 'oapi.dingtalk.com'
            WHEN 'feishu' THEN 'open.feishu.cn'
            WHEN 'pushplus' THEN 'www.pushplus.plus'
            WHEN 'schan' THEN 'sctapi.ftqq.com'
            WHEN 'wxpusher' THEN 'wxpusher.zjiecode.com'
        END,
        substring(url FROM '^[^:/]+://(?:[^@/?#]*@)?([^/?#]+)'),
        url
    ))
$$;

-- The class of a channel (an Apprise URL or its scheme) as people know it: what the board and
-- the API show instead of a scheme such as json or aliyunsms.
CREATE FUNCTION sw_channel_class(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE lower(split_part(url, ':', 1))
        WHEN 'aliyunsms' THEN 'sms' WHEN 'tencentsms' THEN 'sms' WHEN 'sms' THEN 'sms'
        WHEN 'alivoice' THEN 'voice' WHEN 'tencentvoice' THEN 'voice' WHEN 'ttscall' THEN 'voice'
        WHEN 'wecombot' THEN 'wechat' WHEN 'wxwork' THEN 'wechat' WHEN 'wecom' THEN 'wechat'
        WHEN 'wechat' THEN 'wechat' WHEN 'wxpusher' THEN 'wechat' WHEN 'pushplus' THEN 'wechat'
        WHEN 'schan' THEN 'wechat'
        WHEN 'dingtalk' THEN 'chat' WHEN 'feishu' THEN 'chat'
        ELSE 'webhook'
    END
$$;
