//! Where reading starts: `consume --offset` (kcat's `-o` forms) and `--from-time`.

/// A parsed `--offset`: where each partition read without a group starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartSpec {
    /// `beginning` (or `earliest`): the partition's first record.
    Beginning,
    /// `end` (or `latest`): after its last record; only new records are read.
    End,
    /// `N`: this offset, on every partition.
    At(i64),
    /// `-N`: the last N records of each partition (from its end minus N, at least its start).
    FromEnd(i64),
    /// `@MS` (or kcat's `s@MS`): the first record at or after this time, ms since the epoch;
    /// a partition with none starts at its end.
    Time(i64),
}

const FORMS: &str =
    "beginning, end, an offset N (0 or more), -N (the last N records of each partition) or @MS (the first record at or after MS, ms since the epoch)";

/// Parses an `--offset` value (clap calls it; the error names the forms).
pub fn parse(s: &str) -> Result<StartSpec, String> {
    let s = s.trim();
    let number = |n: &str, what: &str| -> Result<i64, String> {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("'{s}' is not one of: {FORMS}"));
        }
        n.parse::<i64>().map_err(|_| {
            format!(
                "'{s}': {what} is beyond the largest Kafka holds ({})",
                i64::MAX
            )
        })
    };
    match s {
        "beginning" | "earliest" => Ok(StartSpec::Beginning),
        "end" | "latest" => Ok(StartSpec::End),
        _ => {
            if let Some(t) = s.strip_prefix("s@").or_else(|| s.strip_prefix('@')) {
                return number(t, "the time").map(StartSpec::Time);
            }
            if let Some(n) = s.strip_prefix('-') {
                return match number(n, "the count")? {
                    0 => Err(format!(
                        "'{s}': -N counts records back from the end and must be at least 1 (use 'end' for none)"
                    )),
                    n => Ok(StartSpec::FromEnd(n)),
                };
            }
            number(s, "the offset").map(StartSpec::At)
        }
    }
}

/// The offset a partition starts at for `spec`, given its first offset and its end (the
/// offset after its last record); `None` for [`StartSpec::Time`], which needs a lookup.
pub fn resolve(spec: StartSpec, beginning: i64, end: i64) -> Option<i64> {
    match spec {
        StartSpec::Beginning => Some(beginning),
        StartSpec::End => Some(end),
        StartSpec::At(o) => Some(o),
        StartSpec::FromEnd(n) => Some(end.saturating_sub(n).max(beginning)),
        StartSpec::Time(_) => None,
    }
}

/// `--from-time`: ms since the epoch, or a time ago (`-30s`, `-15m`, `-2h`, `-1d`), as ms since
/// the epoch given the time now. A time ago is computed without overflow: one too far back
/// (before 1970, or beyond what an i64 of ms holds) is an error, never a wrapped time.
pub fn parse_time(s: &str, now_ms: i64) -> kafkit::Result<i64> {
    let error = |why: String| kafkit::Error::new(kafkit::ErrorKind::Config, "consume", why);
    let bad = || {
        error(format!(
            "--from-time '{s}' must be ms since the epoch or a time ago such as -30s, -15m, -2h, -1d"
        ))
    };
    if let Some(ago) = s.strip_prefix('-') {
        // The unit is the last character, which need not be one byte (`-1µ`): split on chars.
        let Some(unit) = ago.chars().last() else {
            return Err(bad());
        };
        let n = &ago[..ago.len() - unit.len_utf8()];
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let ms: i64 = match unit {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return Err(bad()),
        };
        let before_epoch = || {
            error(format!(
                "--from-time '{s}' is before 1970 (the epoch); use --from-beginning to read from the start"
            ))
        };
        let n: i64 = n.parse().map_err(|_| before_epoch())?;
        let back = n.checked_mul(ms).ok_or_else(before_epoch)?;
        return now_ms
            .checked_sub(back)
            .filter(|t| *t >= 0)
            .ok_or_else(before_epoch);
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
        return Err(bad());
    }
    s.parse::<i64>().map_err(|_| {
        error(format!(
            "--from-time '{s}' is beyond the largest time Kafka holds ({} ms since the epoch)",
            i64::MAX
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_take_kcat_forms() {
        assert_eq!(parse("beginning"), Ok(StartSpec::Beginning));
        assert_eq!(parse("earliest"), Ok(StartSpec::Beginning));
        assert_eq!(parse("end"), Ok(StartSpec::End));
        assert_eq!(parse("latest"), Ok(StartSpec::End));
        assert_eq!(parse("42"), Ok(StartSpec::At(42)));
        assert_eq!(parse("-10"), Ok(StartSpec::FromEnd(10)));
        assert_eq!(
            parse("@1700000000000"),
            Ok(StartSpec::Time(1_700_000_000_000))
        );
        assert_eq!(parse("s@5"), Ok(StartSpec::Time(5)));
        for bad in [
            "", "-", "-0", "@", "@-5", "s@", "stored", "--5", "+5", "1e3", "e@5", "- 5",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("-0").unwrap_err().contains("at least 1"));
        assert!(parse("99999999999999999999")
            .unwrap_err()
            .contains("largest"));
        assert!(parse("soon").unwrap_err().contains("beginning, end"));
    }

    #[test]
    fn the_last_n_stop_at_the_start_of_the_partition() {
        assert_eq!(resolve(StartSpec::FromEnd(3), 0, 10), Some(7));
        assert_eq!(resolve(StartSpec::FromEnd(30), 4, 10), Some(4));
        assert_eq!(resolve(StartSpec::FromEnd(i64::MAX), 0, 10), Some(0));
        assert_eq!(resolve(StartSpec::FromEnd(1), 0, 0), Some(0));
        assert_eq!(resolve(StartSpec::Beginning, 4, 10), Some(4));
        assert_eq!(resolve(StartSpec::End, 4, 10), Some(10));
        assert_eq!(resolve(StartSpec::At(99), 4, 10), Some(99));
        assert_eq!(resolve(StartSpec::Time(1), 4, 10), None);
    }

    #[test]
    fn from_time_is_ms_since_the_epoch_or_a_time_ago() {
        let now = 10_000_000_000;
        assert_eq!(parse_time("1700000000000", now).unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("-30s", now).unwrap(), now - 30_000);
        assert_eq!(parse_time("-15m", now).unwrap(), now - 900_000);
        assert_eq!(parse_time("-2h", now).unwrap(), now - 7_200_000);
        assert_eq!(parse_time("-1d", now).unwrap(), now - 86_400_000);
        for bad in [
            "", "-", "-s", "-5w", "soon", "-xh", "-1", "--5s", "-+5s", "+5", "-5 s",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_time_ago_too_far_back_is_an_error_not_a_wrapped_time() {
        let now = 1_700_000_000_000;
        // Overflows i64 when multiplied (the old code wrapped, or panicked in a debug build).
        for huge in [
            "-999999999999d",
            "-9223372036854775807s",
            "-99999999999999999999999h",
        ] {
            let e = parse_time(huge, now).unwrap_err();
            assert!(e.to_string().contains("before 1970"), "{huge}: {e}");
            assert!(e.to_string().contains(huge), "{e}");
        }
        // No overflow, but before the epoch: a negative time would mean latest (-1) or
        // earliest (-2) to the broker.
        assert!(parse_time("-20000d", now).is_err());
        assert_eq!(parse_time("-0s", now).unwrap(), now);
        // A unit of more than one byte is refused, not a panic (found by the property test).
        assert!(parse_time("-¡", now).is_err());
        assert!(parse_time("-5µ", now).is_err());
        let e = parse_time("99999999999999999999", now).unwrap_err();
        assert!(e.to_string().contains("largest time"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn any_offset_or_time_parses_or_errs_without_panic(s in ".{0,30}", now in proptest::prelude::any::<i64>()) {
            let _ = parse(&s);
            let _ = parse_time(&s, now.max(0));
            if let Ok(spec) = parse(&s) {
                let _ = resolve(spec, 0, i64::MAX);
                let _ = resolve(spec, i64::MAX, 0);
            }
        }
    }
}
