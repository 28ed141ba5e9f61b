-- Issue 17: low battery from a level, a generic LoRaWAN model, identities in one spelling.

-- Per-model battery thresholds (core/codecs/battery.py). A device whose model has a pair says
-- "low" at or below the low value and "fine" again at or above the ok value; in between nothing
-- changes (hysteresis, so a level wobbling at the limit does not flap). Volts are compared as
-- millivolts. NULL: the model reports its own low-battery flag and needs no thresholds.
ALTER TABLE device_models
    ADD COLUMN battery_low_pct real CHECK (battery_low_pct BETWEEN 0 AND 100),
    ADD COLUMN battery_ok_pct  real CHECK (battery_ok_pct BETWEEN 0 AND 100),
    ADD COLUMN battery_low_mv  integer CHECK (battery_low_mv BETWEEN 0 AND 20000),
    ADD COLUMN battery_ok_mv   integer CHECK (battery_ok_mv BETWEEN 0 AND 20000),
    ADD CONSTRAINT device_models_battery_pct_order
        CHECK (battery_low_pct IS NULL OR battery_ok_pct IS NULL OR battery_low_pct < battery_ok_pct),
    ADD CONSTRAINT device_models_battery_mv_order
        CHECK (battery_low_mv IS NULL OR battery_ok_mv IS NULL OR battery_low_mv < battery_ok_mv);

-- A generic LoRaWAN smoke detector: its ChirpStack device-profile codec produces standard keys
-- (smoke/alarm, battery, battery_voltage, tamper, fault, test, temperature; docs/devices.md,
-- "The property map"), so it needs no vendor decoder of ours.
INSERT INTO device_models (code, vendor, name, codec, heartbeat_period, has_heat_sensor) VALUES
    ('lorawan-generic-smoke', 'generic',
     'LoRaWAN smoke detector whose ChirpStack codec gives standard keys', 'chirpstack',
     interval '24 hours', false)
ON CONFLICT (code) DO NOTHING;

-- Which models need thresholds, and why (docs/devices.md, "Low battery from a level"):
-- - Percent, low at 20 % and fine again at 30 %: models that publish only a percentage
--   (zigbee-herdsman-converters: Aqara JY-GZ-01AQ exposes battery and voltage but no
--   battery_low, src/devices/xiaomi.ts; Tuya TS0205 and TS0601 variants whose firmware never
--   sets the IAS battery bit or the battery_state datapoint) and every LoRaWAN model, whose
--   ChirpStack status events carry batteryLevel in percent. 20 % is the level commissioning
--   already calls low (api/commissioning/checks.py); the 10-point band is ours [M].
-- - Millivolts, low at 2600 mV and fine at 2800 mV: the generic LoRaWAN model, for decoders that
--   give volts; 3 V lithium cells (CR123A, the usual detector battery) are near the end of
--   their life at about 2.6 V under load [M]. Netvox' own decoder marks 2.6 V "(low battery)"
--   in its example output (lorawan-devices vendor/netvox/payload/ra02a.js sets the mark from
--   bit 7), so the RA02A gets the same pair as a fallback for decoders that drop the bit.
UPDATE device_models SET battery_low_pct = 20, battery_ok_pct = 30
WHERE code IN ('aqara-jy-gz-01aq', 'tuya-ts0205', 'tuya-ts0601-smoke', 'milesight-gs524n',
               'netvox-ra02a', 'lorawan-generic-smoke');
UPDATE device_models SET battery_low_mv = 2600, battery_ok_mv = 2800
WHERE code IN ('netvox-ra02a', 'lorawan-generic-smoke');

-- Identities registered before normalisation (core/codecs/identity.py): a devEui typed in upper
-- case or with separators never matched ChirpStack's lower-case hex; the same for IEEE
-- addresses and CTWing device ids. Rewrite them in the canonical spelling unless that spelling
-- is already taken (then the row stays as it was and the API shows it for an installer to fix).
UPDATE device_identities i
SET external_id = lower(regexp_replace(i.external_id, '[[:space:]:._-]', '', 'g'))
WHERE i.codec = 'chirpstack'
  AND lower(regexp_replace(i.external_id, '[[:space:]:._-]', '', 'g')) ~ '^[0-9a-f]{16}$'
  AND i.external_id <> lower(regexp_replace(i.external_id, '[[:space:]:._-]', '', 'g'))
  AND NOT EXISTS (SELECT 1 FROM device_identities o
                  WHERE o.codec = i.codec
                    AND o.external_id = lower(regexp_replace(i.external_id, '[[:space:]:._-]', '', 'g')));

UPDATE device_identities i
SET external_id = '0x' || right(lower(regexp_replace(i.external_id, '[[:space:]:._-]', '', 'g')), 16)
WHERE i.codec = 'zigbee2mqtt'
  AND lower(regexp_replace(i.external_id, '[[:space:]:._-]', '', 'g')) ~ '^(0x)?[0-9a-f]{16}$'
  AND i.external_id <> '0x' || right(lower(regexp_replace(i.external_id, '[[:space:]:._-]', '', 'g')), 16)
  AND NOT EXISTS (SELECT 1 FROM device_identities o
                  WHERE o.codec = i.codec
                    AND o.external_id = '0x' || right(lower(regexp_replace(i.external_id, '[[:space:]:._-]', '', 'g')), 16));

UPDATE device_identities i
SET external_id = lower(btrim(i.external_id))
WHERE i.codec = 'ctwing'
  AND i.external_id <> lower(btrim(i.external_id))
  AND NOT EXISTS (SELECT 1 FROM device_identities o
                  WHERE o.codec = i.codec AND o.external_id = lower(btrim(i.external_id)));

-- Identities can be corrected after registration (a mistyped devEui, a device renamed in
-- zigbee2mqtt); the registry history keeps the old value (api/devices/service.py).
ALTER TABLE registry_log DROP CONSTRAINT registry_log_action_check;
ALTER TABLE registry_log ADD CONSTRAINT registry_log_action_check CHECK (action IN (
    'site_created', 'site_updated', 'site_archived', 'device_registered', 'device_bound',
    'device_unbound', 'device_replaced', 'device_removed', 'commissioning_passed',
    'commissioning_failed', 'roster_imported', 'identity_changed'));

-- Home Assistant MQTT discovery (core/codecs/homeassistant.py): entities that ESPHome, Tasmota
-- and similar firmware announce with retained configs, kept for the installers' list of
-- discovered detectors and to decode their state topics once the device key is registered
-- (device_identities codec 'homeassistant', external_id = device_key).
CREATE TABLE ha_entities (
    config_topic  text NOT NULL,
    entity_key    text NOT NULL DEFAULT '',   -- the cmps key of a device discovery payload
    device_key    text,                       -- dev.identifiers[0], else unique_id
    component     text NOT NULL,
    device_class  text,
    state_topic   text,
    entity        jsonb NOT NULL,             -- payloads, template path, unit, device info
    unsupported   text,                       -- why its state cannot be decoded
    seen_at       timestamptz NOT NULL,
    PRIMARY KEY (config_topic, entity_key)
);
CREATE INDEX ha_entities_state_topic_idx ON ha_entities (state_topic);
CREATE INDEX ha_entities_device_idx ON ha_entities (device_key);

INSERT INTO device_models (code, vendor, name, codec, heartbeat_period, has_heat_sensor,
                           battery_low_pct, battery_ok_pct) VALUES
    ('ha-discovery-smoke', 'generic',
     'Smoke detector announced by Home Assistant MQTT discovery (ESPHome, Tasmota...)',
     'homeassistant', interval '24 hours', false, 20, 30)
ON CONFLICT (code) DO NOTHING;
