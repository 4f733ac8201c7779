//! "Do not disturb" from the tray menu: the presets and when they end.
//!
//! Generic over the time zone so tests pin one; the app uses
//! [`chrono::Local`].

use chrono::{DateTime, Duration, LocalResult, NaiveTime, TimeZone};

/// The hour "until the morning" ends at, local time.
const MORNING: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(t) => t,
    None => panic!("08:00 is a time"),
};

/// A do-not-disturb choice of the tray menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DndPreset {
    /// One hour from now.
    ForAnHour,
    /// Until the next 08:00, local time.
    UntilMorning,
}

impl DndPreset {
    /// When the preset chosen at `now` ends, unix ms.
    pub fn until<Tz: TimeZone>(self, now: &DateTime<Tz>) -> i64 {
        match self {
            DndPreset::ForAnHour => (now.clone() + Duration::hours(1)).timestamp_millis(),
            DndPreset::UntilMorning => next_morning(now).timestamp_millis(),
        }
    }
}

/// The next 08:00 after `now`: this morning's before 08:00 (whoever picks
/// "until the morning" at 01:00 means in seven hours, not thirty-one),
/// tomorrow's after.
pub fn next_morning<Tz: TimeZone>(now: &DateTime<Tz>) -> DateTime<Tz> {
    let today = now.date_naive();
    let day = if now.time() < MORNING {
        today
    } else {
        today.succ_opt().unwrap_or(today)
    };
    let morning = day.and_time(MORNING);
    match now.timezone().from_local_datetime(&morning) {
        LocalResult::Single(t) => t,
        // The clocks went back over 08:00: the first of the two.
        LocalResult::Ambiguous(first, _) => first,
        // The clocks skipped 08:00: the hour after the gap's start.
        LocalResult::None => {
            let later = morning + Duration::hours(1);
            now.timezone()
                .from_local_datetime(&later)
                .earliest()
                .unwrap_or_else(|| now.clone() + Duration::hours(8))
        }
    }
}

/// The menu label of [`DndPreset::UntilMorning`] at `now`: which morning.
pub fn morning_label<Tz: TimeZone>(now: &DateTime<Tz>) -> &'static str {
    if next_morning(now).date_naive() == now.date_naive() {
        "Until 08:00 this morning"
    } else {
        "Until tomorrow 08:00"
    }
}

/// Whether do not disturb is on at `now_ms`.
pub fn is_on(dnd_until: Option<i64>, now_ms: i64) -> bool {
    dnd_until.is_some_and(|until| until > now_ms)
}

/// "until 14:30" (today) or "until Tue 08:00", local time of `tz`.
pub fn until_text<Tz: TimeZone>(until_ms: i64, now: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let Some(until) = now.timezone().timestamp_millis_opt(until_ms).earliest() else {
        return "on".to_owned();
    };
    if until.date_naive() == now.date_naive() {
        format!("until {}", until.format("%H:%M"))
    } else {
        format!("until {}", until.format("%a %H:%M"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, NaiveDate, Utc};

    use super::*;

    fn at(tz: &FixedOffset, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<FixedOffset> {
        let naive = NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap();
        tz.from_local_datetime(&naive).unwrap()
    }

    #[test]
    fn the_morning_is_tomorrows_in_the_evening_and_todays_at_night() {
        let paris = FixedOffset::east_opt(3600).unwrap();
        let evening = at(&paris, 2026, 11, 30, 23, 10);
        assert_eq!(next_morning(&evening), at(&paris, 2026, 12, 1, 8, 0));
        assert_eq!(morning_label(&evening), "Until tomorrow 08:00");

        let night = at(&paris, 2026, 12, 1, 1, 30);
        assert_eq!(next_morning(&night), at(&paris, 2026, 12, 1, 8, 0));
        assert_eq!(morning_label(&night), "Until 08:00 this morning");

        let eight = at(&paris, 2026, 12, 1, 8, 0);
        assert_eq!(next_morning(&eight), at(&paris, 2026, 12, 2, 8, 0));
    }

    #[test]
    fn the_morning_is_local_not_utc() {
        let tokyo = FixedOffset::east_opt(9 * 3600).unwrap();
        // 22:00 UTC is 07:00 in Tokyo: the morning is in an hour.
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 22, 0, 0).unwrap();
        let until = DndPreset::UntilMorning.until(&now.with_timezone(&tokyo));
        assert_eq!(until - now.timestamp_millis(), 3_600_000);
    }

    #[test]
    fn an_hour_is_an_hour() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 0).unwrap();
        assert_eq!(
            DndPreset::ForAnHour.until(&now),
            now.timestamp_millis() + 3_600_000
        );
    }

    #[test]
    fn on_only_before_the_end() {
        assert!(!is_on(None, 10));
        assert!(is_on(Some(11), 10));
        assert!(!is_on(Some(10), 10));
    }

    #[test]
    fn until_text_names_the_day_when_not_today() {
        let utc = FixedOffset::east_opt(0).unwrap();
        let now = at(&utc, 2026, 11, 30, 13, 0);
        let later = at(&utc, 2026, 11, 30, 14, 30).timestamp_millis();
        assert_eq!(until_text(later, &now), "until 14:30");
        let tomorrow = at(&utc, 2026, 12, 1, 8, 0).timestamp_millis();
        assert_eq!(until_text(tomorrow, &now), "until Tue 08:00");
    }
}
