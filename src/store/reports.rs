//! The rows reports are made of, read the same way on both backends: the
//! SQL (one statement per section, `$1`/`$2` the period's start and end in
//! Unix milliseconds, grouped in the database so a year of calls comes
//! back as a few hundred rows) and [`ReportRows`], what the backends return
//! for `report::Report` to add up.

/// Ended calls by class, group and kind; calls not yet classed (in
/// progress) as class NULL.
pub(super) const CLASSES_SQL: &str = "SELECT class, grp, kind, COUNT(*) FROM calls
    WHERE started_at >= $1 AND started_at < $2
    GROUP BY class, grp, kind";

/// Queue waits by group, kind and result: how many, their seconds waited
/// in all, how many were over within the group's service-level threshold
/// (each wait keeps the threshold its group declared then, default
/// `report::figures::SERVICE_LEVEL_SECS`), and the largest such threshold.
pub(super) const WAITS_SQL: &str = "SELECT grp, kind, result, COUNT(*),
        CAST(SUM(waited) AS BIGINT), CAST(SUM(CASE WHEN waited <= sl_secs THEN 1 ELSE 0 END) AS BIGINT),
        CAST(MAX(sl_secs) AS BIGINT)
    FROM queue_waits WHERE joined_at >= $1 AND joined_at < $2
    GROUP BY grp, kind, result";

/// Queue waits followed by another (overflows, escalations): group, result,
/// next group, both tiers.
pub(super) const MOVES_SQL: &str =
    "SELECT w.grp, w.result, n.grp, CAST(w.tier AS BIGINT), CAST(n.tier AS BIGINT), COUNT(*)
    FROM queue_waits w JOIN queue_waits n ON n.call_id = w.call_id AND n.seq = w.seq + 1
    WHERE w.next_grp IS NOT NULL AND w.joined_at >= $1 AND w.joined_at < $2
    GROUP BY w.grp, w.result, n.grp, w.tier, n.tier";

/// Survey answers by group, rating and scale, by when they were given
/// (minutes after their call started); a group's kind comes from its calls.
pub(super) const RATINGS_SQL: &str =
    "SELECT grp, CAST(rating AS BIGINT), CAST(scale AS BIGINT), COUNT(*) FROM surveys
    WHERE at >= $1 AND at < $2
    GROUP BY grp, rating, scale";

/// Self-service answers by topic: heard, then went on to an agent.
pub(super) const TOPICS_SQL: &str = "SELECT topic, COUNT(*),
        CAST(SUM(CASE WHEN then_agent THEN 1 ELSE 0 END) AS BIGINT)
    FROM topics_heard WHERE at >= $1 AND at < $2 GROUP BY topic";

/// Calls that heard any self-service answer, and those of them that went
/// on to an agent after one.
pub(super) const CONTAINMENT_SQL: &str = "SELECT COUNT(*), CAST(COALESCE(SUM(agent), 0) AS BIGINT)
    FROM (SELECT call_id, MAX(CASE WHEN then_agent THEN 1 ELSE 0 END) AS agent
          FROM topics_heard WHERE at >= $1 AND at < $2 GROUP BY call_id) heard";

/// A [`CLASSES_SQL`] row: class, group, kind, calls.
pub type ClassRow = (Option<String>, Option<String>, Option<String>, i64);

/// A [`WAITS_SQL`] row: group, kind, result, waits, seconds waited in
/// all, waits within the service level, the service level's threshold.
pub type WaitRow = (String, Option<String>, String, i64, i64, i64, i64);

/// A [`MOVES_SQL`] row: group, result, next group, tier, next tier, waits.
pub type MoveRow = (String, String, String, Option<i64>, Option<i64>, i64);

/// A [`RATINGS_SQL`] row: group, rating, scale, answers.
pub type RatingRow = (Option<String>, i64, i64, i64);

/// Every row a report adds up.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReportRows {
    /// Calls by class.
    pub classes: Vec<ClassRow>,
    /// Queue waits.
    pub waits: Vec<WaitRow>,
    /// Waits followed by another.
    pub moves: Vec<MoveRow>,
    /// Survey answers.
    pub ratings: Vec<RatingRow>,
    /// topic, heard, then an agent.
    pub topics: Vec<(String, i64, i64)>,
    /// Calls that heard an answer, and went on to an agent.
    pub containment: (i64, i64),
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_service_level_is_each_waits_own_threshold() {
        assert!(super::WAITS_SQL.contains("waited <= sl_secs"));
    }
}
