//! Local time for event lines. Process-wide things (signal handlers, mounting tracefs) are
//! the binary's: the runner only reads a stop flag and asks its caller to mount tracefs.

/// `HH:MM:SS` in local time, as the runtime prints it.
pub fn local_hms() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let t = now as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which we own.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        (!libc::localtime_r(&t, &mut tm).is_null()).then_some(tm)
    };
    match tm {
        Some(tm) => format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec),
        None => {
            let s = now % 86_400;
            format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        }
    }
}

/// Whether tracefs is reachable (mounted at /sys/kernel/tracing or under debugfs).
pub fn tracefs_mounted() -> bool {
    [
        "/sys/kernel/tracing/events",
        "/sys/kernel/debug/tracing/events",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists())
}

/// The time now in RFC 3339, UTC, to the microsecond (`2026-12-06T22:30:01.123456Z`): the
/// `timestamp` of JSON events.
pub fn utc_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs(), d.subsec_micros())
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), then the time of day.
fn rfc3339(secs: u64, micros: u32) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0, 0), "1970-01-01T00:00:00.000000Z");
        // 2000-02-29 (a leap day) 12:34:56 UTC.
        assert_eq!(
            super::rfc3339(951_827_696, 42),
            "2000-02-29T12:34:56.000042Z"
        );
        assert_eq!(
            super::rfc3339(1_796_515_200, 999_999),
            "2026-12-06T00:00:00.999999Z"
        );
    }
}
