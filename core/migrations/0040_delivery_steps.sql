-- Delivery in steps (issue 14): each attempt is its own outbox step with its own due time.
--
-- A notification remembers where its delivery stands: the channel being tried and how many
-- attempts were started on it. The attempt counter is written when a worker claims the row,
-- before the request leaves, so a worker killed mid-send leaves a row that resumes at the
-- next attempt (or the next channel) instead of starting again at channel 0, attempt 0.
ALTER TABLE notifications
    ADD COLUMN channel_index smallint NOT NULL DEFAULT 0,
    ADD COLUMN channel_attempt smallint NOT NULL DEFAULT 0;

-- The network destination a channel URL's request goes to, so senders can cap how many
-- sends one destination holds at once (a hanging provider must not take every sender).
-- Our cloud plugins and the chat bots post to a fixed API host whatever the URL says;
-- an explicit endpoint= wins; anything else is the URL's host[:port].
CREATE FUNCTION sw_send_host(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(coalesce(
        substring(url FROM '[?&]endpoint=(?:https?(?::|%3[aA])(?:/|%2[fF]){2})?([^&/%?#]+)'),
        CASE lower(split_part(url, '://', 1))
            WHEN 'aliyunsms' THEN 'dysmsapi.aliyuncs.com'
            WHEN 'alivoice' THEN 'dyvmsapi.aliyuncs.com'
            WHEN 'tencentsms' THEN 'sms.tencentcloudapi.com'
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
