//! Civil time without a calendar dependency: ISO 8601 and epoch seconds, UTC only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, as a float with millisecond precision.
pub fn epoch_seconds(t: SystemTime) -> f64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    d.as_secs() as f64 + f64::from(d.subsec_millis()) / 1000.0
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats epoch seconds as `2024-01-31T12:00:00Z`, or with `.123Z` when `millis`.
pub fn iso8601(epoch: f64, millis: bool) -> String {
    // Every request formats "now" at least twice; the text changes once a second.
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let whole = epoch.fract() == 0.0 && epoch.abs() < 1e15;
    if !millis && whole {
        let secs = epoch as i64;
        return LAST.with(|last| {
            let mut last = last.borrow_mut();
            if last.0 != secs {
                *last = (secs, format_iso8601(epoch, false));
            }
            last.1.clone()
        });
    }
    format_iso8601(epoch, millis)
}

fn format_iso8601(epoch: f64, millis: bool) -> String {
    let total_ms = (epoch * 1000.0).round() as i64;
    let secs = total_ms.div_euclid(1000);
    let ms = total_ms.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let (h, mi, s) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    if !(0..=9999).contains(&y) {
        return if millis {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
        } else {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        };
    }
    // Written digit by digit: this runs for every timestamp of every response and record.
    let mut out = [0u8; 24];
    put_digits(&mut out[0..4], y);
    put_digits(&mut out[5..7], i64::from(mo));
    put_digits(&mut out[8..10], i64::from(d));
    put_digits(&mut out[11..13], h);
    put_digits(&mut out[14..16], mi);
    put_digits(&mut out[17..19], s);
    put_digits(&mut out[20..23], ms);
    out[4] = b'-';
    out[7] = b'-';
    out[10] = b'T';
    out[13] = b':';
    out[16] = b':';
    let len = if millis {
        out[19] = b'.';
        out[23] = b'Z';
        24
    } else {
        out[19] = b'Z';
        20
    };
    std::str::from_utf8(&out[..len])
        .unwrap_or_default()
        .to_owned()
}

/// Formats a time as an HTTP date: `Wed, 21 Oct 2015 07:28:00 GMT`.
pub fn http_date(epoch: f64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch.floor() as i64;
    let days = secs.div_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let sod = secs.rem_euclid(86_400);
    let (day, month) = (DAYS[days.rem_euclid(7) as usize], MONTHS[(mo - 1) as usize]);
    let (h, mi, s) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    if !(0..=9999).contains(&y) {
        return format!("{day}, {d:02} {month} {y:04} {h:02}:{mi:02}:{s:02} GMT");
    }
    // Every S3 object response carries one (Last-Modified): no formatter.
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(day.as_bytes());
    out[8..11].copy_from_slice(month.as_bytes());
    put_digits(&mut out[5..7], i64::from(d));
    put_digits(&mut out[12..16], y);
    put_digits(&mut out[17..19], h);
    put_digits(&mut out[20..22], mi);
    put_digits(&mut out[23..25], s);
    std::str::from_utf8(&out).unwrap_or_default().to_owned()
}

/// Writes `value` (not negative) as decimal digits filling `out`, zero-padded.
fn put_digits(out: &mut [u8], mut value: i64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Parses ISO 8601 (`2024-01-31T12:00:00Z`, fractions, offsets, compact `20240131T120000Z`,
/// or a bare date) or epoch seconds into epoch seconds.
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    let b = t.as_bytes();
    let digits = |s: &[u8]| -> Option<i64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let (date, rest) = match t.find(['T', 't', ' ']) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[b.len()..]),
    };
    let (y, mo, d) = match date.len() {
        10 if date[4] == b'-' && date[7] == b'-' => (
            digits(&date[..4])?,
            digits(&date[5..7])?,
            digits(&date[8..10])?,
        ),
        8 => (
            digits(&date[..4])?,
            digits(&date[4..6])?,
            digits(&date[6..8])?,
        ),
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo as u32, d as u32) * 86_400;
    if rest.is_empty() {
        return Some(secs as f64);
    }
    // Split off the zone designator.
    let zone_at = rest
        .iter()
        .position(|&c| c == b'Z' || c == b'z' || c == b'+' || c == b'-');
    let (clock, zone) = match zone_at {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, &rest[rest.len()..]),
    };
    let (hms, frac) = match clock.iter().position(|&c| c == b'.' || c == b',') {
        Some(i) => (&clock[..i], &clock[i + 1..]),
        None => (clock, &clock[clock.len()..]),
    };
    let (h, mi, s) = match hms.len() {
        8 if hms[2] == b':' && hms[5] == b':' => {
            (digits(&hms[..2])?, digits(&hms[3..5])?, digits(&hms[6..8])?)
        }
        5 if hms[2] == b':' => (digits(&hms[..2])?, digits(&hms[3..5])?, 0),
        6 => (digits(&hms[..2])?, digits(&hms[2..4])?, digits(&hms[4..6])?),
        _ => return None,
    };
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + s;
    let mut fraction = 0.0;
    if !frac.is_empty() {
        digits(frac)?;
        fraction = format!("0.{}", std::str::from_utf8(frac).ok()?)
            .parse()
            .ok()?;
    }
    match zone {
        b"" | b"Z" | b"z" => {}
        z if z.len() == 6 && z[3] == b':' || z.len() == 5 => {
            let sign = if z[0] == b'-' { -1 } else { 1 };
            let (zh, zm) = if z.len() == 6 {
                (digits(&z[1..3])?, digits(&z[4..6])?)
            } else {
                (digits(&z[1..3])?, digits(&z[3..5])?)
            };
            secs -= sign * (zh * 3600 + zm * 60);
        }
        _ => return None,
    }
    Some(secs as f64 + fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(iso8601(0.0, false), "1970-01-01T00:00:00Z");
        // Digit by digit agrees with the formatter across years, days and milliseconds.
        let mut epoch = -62_135_596_800.0; // 0001-01-01
        while epoch < 253_402_300_800.0 {
            let total_ms = (epoch * 1000.0_f64).round() as i64;
            let secs = total_ms.div_euclid(1000);
            let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            let expected = format!(
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                sod / 3600,
                sod % 3600 / 60,
                sod % 60,
                total_ms.rem_euclid(1000)
            );
            assert_eq!(format_iso8601(epoch, true), expected);
            assert_eq!(
                format_iso8601(epoch, false),
                format!("{}Z", &expected[..19])
            );
            epoch += 7_777_777.123;
        }
        assert_eq!(iso8601(1_700_000_000.5, true), "2023-11-14T22:13:20.500Z");
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20.5Z"),
            Some(1_700_000_000.5)
        );
        assert_eq!(parse_timestamp("20231114T221320Z"), Some(1_700_000_000.0));
        assert_eq!(
            parse_timestamp("2023-11-14T23:13:20+01:00"),
            Some(1_700_000_000.0)
        );
        assert_eq!(parse_timestamp("1700000000"), Some(1_700_000_000.0));
        assert!(parse_timestamp("2024-02-30T00:00:00Z").is_some());
        assert_eq!(parse_timestamp("nope"), None);
        assert_eq!(http_date(1_445_412_480.0), "Wed, 21 Oct 2015 07:28:00 GMT");
        // Digit by digit agrees with the formatter.
        let mut epoch = -62_135_596_800.0_f64;
        while epoch < 253_402_300_800.0 {
            let secs = epoch.floor() as i64;
            let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
            let months = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let expected = format!(
                "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
                days[secs.div_euclid(86_400).rem_euclid(7) as usize],
                months[(mo - 1) as usize],
                sod / 3600,
                sod % 3600 / 60,
                sod % 60
            );
            assert_eq!(http_date(epoch), expected);
            epoch += 7_777_777.5;
        }
    }
}
