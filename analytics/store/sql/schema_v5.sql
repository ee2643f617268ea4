-- Schema version 5: the optional 党组织类别 (在职 / 离退休, SPEC §4.5). Rows loaded before it stay NULL, read by
-- the scores from the organization's name. current_records picks the column up through r.*.
ALTER TABLE records ADD COLUMN org_category VARCHAR;
