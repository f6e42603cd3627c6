"""Who receives a campaign: segment rules (rules, conditions, rule_sql, rule_errors), saved
segments (segments), the suppression list (suppression), and the recipients they resolve to
(resolve)."""
