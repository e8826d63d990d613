-- How notifications to a target are shaped: `json` (the whole record with a `text` line, which
-- Slack also accepts), `slack` (Block Kit) or `teams` (an Adaptive Card message for a Teams
-- Workflows webhook).
ALTER TABLE webhook_targets ADD COLUMN format TEXT NOT NULL DEFAULT 'json';
