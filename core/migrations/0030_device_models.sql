-- Detector models reached through vendor formats (issue 6), with the codec each one speaks and
-- how often it must be heard from. Liveness = heartbeat_period * missed_periods + grace.
--
-- Heartbeat periods, and where they come from (docs/devices.md has the details):
-- - Zigbee (zigbee2mqtt), in minutes. zigbee-herdsman-converters: Xiaomi/Aqara definitions set
--   quirkCheckinInterval("1_HOUR"); the others report battery through the standard reporting
--   helpers (src/lib/reporting.ts) whose maximum interval is repInterval.MAX = 62000 s (about
--   1034 minutes); Tuya TS0601
--   "battery ... can take up to 24 hours before reported" (zigbee2mqtt.io device pages).
-- - LoRaWAN (ChirpStack) and NB-IoT (CTWing, OneNET): 24 hours, the long end of the usual
--   12-24 h heartbeat (domain notes; GB 20517 checks the battery at least every 24 h). Set a
--   shorter period per model once the installed firmware's reporting interval is confirmed.
INSERT INTO device_models (code, vendor, name, codec, heartbeat_period, has_heat_sensor) VALUES
    ('heiman-hs1sa', 'Heiman', 'HS1SA smoke detector (Zigbee)', 'zigbee2mqtt', interval '1034 minutes', false),
    ('heiman-hs3sa', 'Heiman', 'HS3SA smoke detector (Zigbee)', 'zigbee2mqtt', interval '1034 minutes', false),
    ('xiaomi-jtyj-gd-01lm-bw', 'Xiaomi', 'Mijia Honeywell smoke detector JTYJ-GD-01LM/BW (Zigbee)', 'zigbee2mqtt', interval '60 minutes', false),
    ('aqara-jy-gz-01aq', 'Aqara', 'Smart smoke detector JY-GZ-01AQ (Zigbee)', 'zigbee2mqtt', interval '60 minutes', false),
    ('tuya-ts0205', 'Tuya', 'TS0205 smoke sensor (Zigbee)', 'zigbee2mqtt', interval '1034 minutes', false),
    ('tuya-ts0601-smoke', 'Tuya', 'TS0601 smoke detector variants (Zigbee, Tuya datapoints)', 'zigbee2mqtt', interval '1440 minutes', false),
    ('develco-smszb-120', 'Develco', 'SMSZB-120 smoke detector with siren, also Frient 94430 (Zigbee)', 'zigbee2mqtt', interval '1034 minutes', false),
    ('milesight-gs524n', 'Milesight', 'GS524N smoke detection sensor (LoRaWAN)', 'chirpstack', interval '24 hours', false),
    ('netvox-ra02a', 'Netvox', 'RA02A wireless smoke detector with heat alarm (LoRaWAN)', 'chirpstack', interval '24 hours', true),
    ('nbiot-ctwing-smoke', 'generic', 'NB-IoT smoke detector on China Telecom CTWing/AEP', 'ctwing', interval '24 hours', false),
    ('nbiot-onenet-smoke', 'generic', 'NB-IoT smoke detector on China Mobile OneNET', 'onenet', interval '24 hours', false)
ON CONFLICT (code) DO NOTHING;
