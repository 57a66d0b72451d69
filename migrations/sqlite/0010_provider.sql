-- Which provider carried each call (`twilio`, `plivo`, `telnyx`,
-- `signalwire`, …): the same flow set answers several at once. Calls
-- stored before this column existed were Twilio's; they read as NULL and
-- are shown as `twilio`.
ALTER TABLE calls ADD COLUMN provider TEXT;
