//! UTC timestamps in the formats SigV4 uses, without a date library.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC time with one-second resolution, as SigV4 timestamps are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    secs: i64,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Timestamp {
    /// The time `secs` seconds after the Unix epoch.
    pub fn from_unix(secs: i64) -> Timestamp {
        Timestamp { secs }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.secs
    }

    /// `time`, rounded down to the second.
    pub fn from_system_time(time: SystemTime) -> Timestamp {
        match time.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            },
            Err(e) => {
                let d = e.duration();
                let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                let secs = if d.subsec_nanos() > 0 {
                    whole.saturating_add(1)
                } else {
                    whole
                };
                Timestamp { secs: -secs }
            }
        }
    }

    /// As a `SystemTime`; `None` when it cannot be represented.
    pub fn to_system_time(self) -> Option<SystemTime> {
        if self.secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(self.secs.unsigned_abs()))
        } else {
            UNIX_EPOCH.checked_sub(Duration::from_secs(self.secs.unsigned_abs()))
        }
    }

    /// `secs` seconds later.
    pub fn plus(self, secs: i64) -> Timestamp {
        Timestamp {
            secs: self.secs.saturating_add(secs),
        }
    }

    /// Parses the ISO 8601 basic format SigV4 uses: `20150830T123600Z`.
    pub fn parse_basic(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let year = digits(&b[0..4])?;
        let month = digits(&b[4..6])?;
        let day = digits(&b[6..8])?;
        let hour = digits(&b[9..11])?;
        let minute = digits(&b[11..13])?;
        let second = digits(&b[13..15])?;
        Timestamp::from_parts(year, month, day, hour, minute, second)
    }

    /// Parses a `YYYYMMDD` date (the credential scope's) as midnight UTC.
    pub fn parse_date(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() != 8 {
            return None;
        }
        Timestamp::from_parts(
            digits(&b[0..4])?,
            digits(&b[4..6])?,
            digits(&b[6..8])?,
            0,
            0,
            0,
        )
    }

    /// Parses an HTTP `Date` header: RFC 1123 (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
    /// (`Sunday, 06-Nov-94 08:49:37 GMT`), asctime (`Sun Nov  6 08:49:37 1994`), or the ISO 8601
    /// basic format.
    pub fn parse_http_date(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        if let Some(t) = Timestamp::parse_basic(s) {
            return Some(t);
        }
        let fields: Vec<&str> = s.split_ascii_whitespace().collect();
        match fields.as_slice() {
            // RFC 1123: Sun, 06 Nov 1994 08:49:37 GMT
            [wday, day, month, year, time, zone] if wday.ends_with(',') && is_gmt(zone) => {
                let year = number(year)?;
                if year < 1000 {
                    return None;
                }
                Timestamp::from_hms(year, month_number(month)?, number(day)?, time)
            }
            // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
            [wday, date, time, zone] if wday.ends_with(',') && is_gmt(zone) => {
                let mut parts = date.split('-');
                let day = number(parts.next()?)?;
                let month = month_number(parts.next()?)?;
                let year = parts.next()?;
                if parts.next().is_some() {
                    return None;
                }
                let year = match (year.len(), number(year)?) {
                    (2, y) if y < 70 => 2000 + y,
                    (2, y) => 1900 + y,
                    (4, y) => y,
                    _ => return None,
                };
                Timestamp::from_hms(year, month, day, time)
            }
            // asctime: Sun Nov  6 08:49:37 1994
            [_wday, month, day, time, year] => {
                Timestamp::from_hms(number(year)?, month_number(month)?, number(day)?, time)
            }
            _ => None,
        }
    }

    fn from_hms(year: u32, month: u32, day: u32, time: &str) -> Option<Timestamp> {
        let t = time.as_bytes();
        if t.len() != 8 || t[2] != b':' || t[5] != b':' {
            return None;
        }
        Timestamp::from_parts(
            year,
            month,
            day,
            digits(&t[0..2])?,
            digits(&t[3..5])?,
            digits(&t[6..8])?,
        )
    }

    fn from_parts(
        year: u32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Option<Timestamp> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // A leap second is accepted as the last second of its minute.
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let days = days_from_civil(i64::from(year), month, day);
        let secs = days * 86_400
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second.min(59));
        Some(Timestamp { secs })
    }

    /// The ISO 8601 basic format: `20150830T123600Z`.
    pub fn to_basic(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    }

    /// The ISO 8601 extended format S3 uses in error documents: `2015-08-30T12:36:00Z`.
    pub fn to_iso8601(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        let mut out = String::with_capacity(20);
        push_date(&mut out, y, mo, d, "-");
        out.push('T');
        push_2(&mut out, h);
        out.push(':');
        push_2(&mut out, mi);
        out.push(':');
        push_2(&mut out, s);
        out.push('Z');
        out
    }

    /// The RFC 1123 form of an HTTP `Date` header: `Sun, 30 Aug 2015 12:36:00 GMT`.
    pub fn to_http_date(self) -> String {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        let (y, mo, d, h, mi, s) = self.civil();
        let wday = DAYS[usize::try_from(self.secs.div_euclid(86_400).rem_euclid(7)).unwrap_or(0)];
        let month = MONTHS[usize::try_from(mo.saturating_sub(1)).unwrap_or(0).min(11)];
        format!("{wday}, {d:02} {month} {y:04} {h:02}:{mi:02}:{s:02} GMT")
    }

    /// The `YYYYMMDD` date, as in a credential scope.
    pub fn date_stamp(self) -> String {
        let (y, mo, d, ..) = self.civil();
        let mut out = String::with_capacity(8);
        push_date(&mut out, y, mo, d, "");
        out
    }

    fn civil(self) -> (i64, u32, u32, i64, i64, i64) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
    }
}

/// `YYYY<sep>MM<sep>DD`, as `{y:04}{sep}{mo:02}{sep}{d:02}` writes it (every request's scope
/// date goes through here, so without the formatting machinery).
fn push_date(out: &mut String, y: i64, mo: u32, d: u32, sep: &str) {
    if (0..=9999).contains(&y) {
        let y = y as u32;
        push_2(out, i64::from(y / 100));
        push_2(out, i64::from(y % 100));
    } else {
        out.push_str(&format!("{y:04}"));
    }
    out.push_str(sep);
    push_2(out, i64::from(mo));
    out.push_str(sep);
    push_2(out, i64::from(d));
}

/// Two digits of `n` (0..=99).
fn push_2(out: &mut String, n: i64) {
    let n = n.clamp(0, 99) as u8;
    out.push(char::from(b'0' + n / 10));
    out.push(char::from(b'0' + n % 10));
}

fn is_gmt(zone: &str) -> bool {
    zone == "GMT" || zone == "UTC" || zone == "Z"
}

fn month_number(name: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    digits(s.as_bytes())
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut n: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    Some(n)
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_writers_match_the_formatter() {
        // Every fifth day of years 0001-9999 at a varying time of day, and beyond both ends.
        let mut secs = -62_135_596_800; // 0001-01-01T00:00:00Z
        while secs < 253_402_300_800 {
            let t = Timestamp::from_unix(secs);
            let (y, mo, d, h, mi, s) = t.civil();
            assert_eq!(
                t.to_iso8601(),
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
            );
            assert_eq!(t.date_stamp(), format!("{y:04}{mo:02}{d:02}"));
            secs += 5 * 86_400 + 3_607;
        }
        for secs in [
            -62_135_596_801,
            -70_000_000_000,
            253_402_300_800,
            400_000_000_000,
        ] {
            let t = Timestamp::from_unix(secs);
            let (y, mo, d, ..) = t.civil();
            assert_eq!(t.date_stamp(), format!("{y:04}{mo:02}{d:02}"));
        }
    }

    #[test]
    fn basic_format_round_trips() {
        let t = Timestamp::parse_basic("20150830T123600Z").unwrap();
        assert_eq!(t.unix(), 1_440_938_160);
        assert_eq!(t.to_basic(), "20150830T123600Z");
        assert_eq!(t.to_iso8601(), "2015-08-30T12:36:00Z");
        assert_eq!(t.to_http_date(), "Sun, 30 Aug 2015 12:36:00 GMT");
        assert_eq!(t.date_stamp(), "20150830");
        for s in [
            "20240229T235959Z",
            "19700101T000000Z",
            "20991231T000000Z",
            "00010101T000000Z",
        ] {
            assert_eq!(Timestamp::parse_basic(s).unwrap().to_basic(), s);
        }
    }

    #[test]
    fn malformed_basic_formats_are_refused() {
        for s in [
            "",
            "20150830T123600",
            "2015-08-30T12:36:00Z",
            "20150230T123600Z",
            "20231301T000000Z",
            "20150830T243600Z",
            "2015083aT123600Z",
            "20230229T000000Z",
            "+0150830T123600Z",
        ] {
            assert_eq!(Timestamp::parse_basic(s), None, "{s}");
        }
    }

    #[test]
    fn http_dates_parse() {
        let t = Timestamp::parse_basic("19941106T084937Z").unwrap();
        assert_eq!(
            Timestamp::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse_http_date("Sun Nov  6 08:49:37 1994"),
            Some(t)
        );
        assert_eq!(Timestamp::parse_http_date("19941106T084937Z"), Some(t));
        assert_eq!(
            Timestamp::parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"),
            None
        );
        assert_eq!(Timestamp::parse_http_date("yesterday"), None);
    }

    #[test]
    fn system_time_conversions() {
        let t = Timestamp::from_system_time(UNIX_EPOCH + Duration::from_millis(1_500));
        assert_eq!(t.unix(), 1);
        let before = Timestamp::from_system_time(UNIX_EPOCH - Duration::from_millis(1_500));
        assert_eq!(before.unix(), -2);
        assert_eq!(before.to_basic(), "19691231T235958Z");
        assert_eq!(
            Timestamp::from_unix(5).to_system_time(),
            Some(UNIX_EPOCH + Duration::from_secs(5))
        );
    }
}
