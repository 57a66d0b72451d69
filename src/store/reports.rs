//! The rows reports are made of, read the same way on both backends: the
//! SQL (one statement per section, `$1`/`$2` the period's start and end in
//! Unix milliseconds, grouped in the database so a year of calls comes
//! back as a few hundred rows), the [`Period`] asked for, and
//! [`ReportRows`], what the backends return for `report::Report` to add up.

use jiff::{SignedDuration, Timestamp};

/// `sql` with each parameter `$N` written `?N`, which SQLite binds by its
/// number wherever it appears (it numbers `$N` by first appearance). The
/// report's statements have no `$` but in parameters.
pub(super) fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

/// The funnel's rows are rolled up by the hour (`node_hours.hour`).
pub const HOUR_MS: i64 = 3_600_000;

/// The start of the hour Unix millisecond `ms` falls in.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// Calls people call again about within this long were not resolved at
/// their first contact, unless a report says otherwise.
pub const REPEAT_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// What a report asks the store for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// Calls started at or after this…
    pub since: Timestamp,
    /// …and before this.
    pub until: Timestamp,
    /// A call its caller called again about within this long was not
    /// resolved at the first contact.
    pub repeat_window: SignedDuration,
    /// Now: a call less than the window ago may still be called again about.
    pub now: Timestamp,
}

impl Period {
    /// Calls started in `[since, until)`, the default window, now.
    pub fn new(since: Timestamp, until: Timestamp) -> Period {
        Period {
            since,
            until,
            repeat_window: REPEAT_WINDOW,
            now: Timestamp::now(),
        }
    }

    /// `$1`, `$2`: the period in Unix milliseconds.
    pub(super) fn bounds(&self) -> [i64; 2] {
        [self.since.as_millisecond(), self.until.as_millisecond()]
    }

    /// [`CLASSES_SQL`]'s parameters: the period, the window, and the
    /// earliest start whose window is over.
    pub(super) fn classes(&self) -> [i64; 4] {
        let window = i64::try_from(self.repeat_window.as_millis()).unwrap_or(i64::MAX);
        let [a, b] = self.bounds();
        [
            a,
            b,
            window,
            self.now.as_millisecond().saturating_sub(window),
        ]
    }

    /// [`FUNNEL_SQL`]'s parameters: the whole hours from the one `since`
    /// falls in to the one before `until` ends.
    pub(super) fn hours(&self) -> [i64; 2] {
        hours(self.since, self.until)
    }
}

/// [`FUNNEL_SQL`]'s parameters for `[since, until)`: from the start of the
/// hour `since` falls in, to `until`.
pub(super) fn hours(since: Timestamp, until: Timestamp) -> [i64; 2] {
    let a = since.as_millisecond();
    [hour_of(a), until.as_millisecond()]
}

/// Ended calls by class, group and kind; calls not yet classed (in
/// progress) as class NULL. With them, for first-contact resolution (what
/// [`split`] makes [`RepeatRow`]s of, for the calls that reached an agent):
/// how many their caller called again about within the window (`$3` ms),
/// how many came from a withheld number (never counted as called again),
/// and how many not called again whose window is not over yet (started
/// after `$4`), which may still be. One scan of one index for both.
pub(super) const CLASSES_SQL: &str = "SELECT class, grp, kind, COUNT(*),
        CAST(SUM(CASE WHEN again_ms >= 0 AND again_ms <= $3 THEN 1 ELSE 0 END) AS BIGINT),
        CAST(SUM(CASE WHEN again_ms < 0 THEN 1 ELSE 0 END) AS BIGINT),
        CAST(SUM(CASE WHEN (again_ms IS NULL OR again_ms > $3) AND started_at > $4
            THEN 1 ELSE 0 END) AS BIGINT)
    FROM calls WHERE started_at >= $1 AND started_at < $2
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

/// The funnel's counts in the hours from `$1` to before `$2`, by node and
/// what happened there.
pub(super) const FUNNEL_SQL: &str = "SELECT node, what, CAST(SUM(n) AS BIGINT) FROM node_hours
    WHERE hour >= $1 AND hour < $2 GROUP BY node, what";

/// Calls that reached an agent, by group: group, kind, calls, called
/// again, withheld, window not over (see [`CLASSES_SQL`]).
pub type RepeatRow = (String, Option<String>, i64, i64, i64, i64);

/// A [`FUNNEL_SQL`] row: node, what, count.
pub type FunnelRow = (String, String, i64);

/// Calls by class: class, group, kind, calls.
pub type ClassRow = (Option<String>, Option<String>, Option<String>, i64);

/// A [`CLASSES_SQL`] row: a [`ClassRow`] with the calls called again,
/// withheld, and with the window open.
pub type ClassesRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
);

/// The sections as the backends read them ([`CLASSES_SQL`] …
/// [`FUNNEL_SQL`], in that order) made into [`ReportRows`].
pub(super) fn rows(
    classes: Vec<ClassesRow>,
    waits: Vec<WaitRow>,
    moves: Vec<MoveRow>,
    ratings: Vec<RatingRow>,
    topics: Vec<(String, i64, i64)>,
    containment: Vec<(i64, i64)>,
    funnel: Vec<FunnelRow>,
) -> ReportRows {
    let (classes, repeats) = split(classes);
    ReportRows {
        classes,
        waits,
        moves,
        ratings,
        topics,
        containment: containment.first().copied().unwrap_or_default(),
        repeats,
        funnel,
    }
}

/// [`CLASSES_SQL`]'s rows as calls by class, and the first-contact
/// resolution of the calls that reached an agent.
pub(super) fn split(rows: Vec<ClassesRow>) -> (Vec<ClassRow>, Vec<RepeatRow>) {
    let mut classes = Vec::with_capacity(rows.len());
    let mut repeats = Vec::new();
    for (class, group, kind, calls, again, withheld, open) in rows {
        if let (Some("agent"), Some(g)) = (class.as_deref(), group.as_deref()) {
            repeats.push((g.to_owned(), kind.clone(), calls, again, withheld, open));
        }
        classes.push((class, group, kind, calls));
    }
    (classes, repeats)
}

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
    /// Calls that reached an agent, and were called again about.
    pub repeats: Vec<RepeatRow>,
    /// The funnel's counts.
    pub funnel: Vec<FunnelRow>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_service_level_is_each_waits_own_threshold() {
        assert!(super::WAITS_SQL.contains("waited <= sl_secs"));
    }

    #[test]
    fn every_dollar_in_a_report_statement_is_a_parameter() {
        use super::*;
        for sql in [
            CLASSES_SQL,
            WAITS_SQL,
            MOVES_SQL,
            RATINGS_SQL,
            TOPICS_SQL,
            CONTAINMENT_SQL,
            FUNNEL_SQL,
        ] {
            for (i, _) in sql.match_indices('$') {
                assert!(
                    sql[i + 1..].starts_with(|c: char| c.is_ascii_digit()),
                    "{sql}"
                );
            }
        }
        assert_eq!(numbered("a = $1 AND b <= $3"), "a = ?1 AND b <= ?3");
    }

    #[test]
    fn agent_calls_carry_their_first_contact_figures() {
        let row = |class: &str, grp: Option<&str>| {
            (
                Some(class.to_owned()),
                grp.map(str::to_owned),
                Some("support".to_owned()),
                4,
                1,
                0,
                2,
            )
        };
        let (classes, repeats) = super::split(vec![
            row("agent", Some("tier1")),
            row("queue-abandon", Some("tier1")),
            row("agent", None),
        ]);
        assert_eq!(classes.len(), 3);
        assert_eq!(
            repeats,
            [("tier1".to_owned(), Some("support".to_owned()), 4, 1, 0, 2)]
        );
    }

    #[test]
    fn the_funnel_reads_whole_hours_and_repeats_the_window() {
        use super::*;
        let t = |s: &str| s.parse::<Timestamp>().expect("a time");
        let p = Period {
            since: t("2026-03-02T10:30:00Z"),
            until: t("2026-03-02T12:15:00Z"),
            repeat_window: REPEAT_WINDOW,
            now: t("2026-03-05T00:00:00Z"),
        };
        let [a, b] = p.hours();
        assert_eq!(a, t("2026-03-02T10:00:00Z").as_millisecond());
        assert_eq!(b, p.until.as_millisecond());
        let [_, _, window, over] = p.classes();
        assert_eq!(window, 7 * 24 * HOUR_MS);
        assert_eq!(over, t("2026-02-26T00:00:00Z").as_millisecond());
    }
}
