//! Times as a calendar shows them (UTC): what file names and exported front matter print.

/// A moment's UTC date and time of day, from year 1 to 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalendarTime {
    /// Year (1–9999).
    pub year: i64,
    /// Month (1–12).
    pub month: i64,
    /// Day of the month (1–31).
    pub day: i64,
    /// Hour (0–23).
    pub hour: i64,
    /// Minute (0–59).
    pub minute: i64,
    /// Second (0–59).
    pub second: i64,
    /// Millisecond (0–999).
    pub milli: i64,
}

impl CalendarTime {
    /// The UTC calendar time of `ms` since the Unix epoch; a moment outside years 1–9999 (an
    /// imported note may carry one) is taken as the nearest end.
    pub fn utc(ms: i64) -> Self {
        let ms = ms.clamp(-62_135_596_800_000, 253_402_300_799_999);
        let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
        // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        CalendarTime {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: rem / 3_600_000,
            minute: rem / 60_000 % 60,
            second: rem / 1000 % 60,
            milli: rem % 1000,
        }
    }

    /// RFC 3339 with milliseconds: `2026-12-04T13:05:09.123Z`.
    pub fn rfc3339(&self) -> String {
        let CalendarTime { year, month, day, hour, minute, second, milli } = *self;
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_year_1_to_9999() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_682_935_200_123, "2023-05-01T10:00:00.123Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_764_684_309_000, "2025-12-02T14:05:09.000Z"),
            (300_000_000_000_000, "9999-12-31T23:59:59.999Z"),
            (i64::MIN, "0001-01-01T00:00:00.000Z"),
        ];
        for (ms, text) in cases {
            assert_eq!(CalendarTime::utc(ms).rfc3339(), text, "{ms}");
        }
    }
}
