//! `group offsets --reset-to ...`: where a group's offsets move, as a plan per partition
//! (printed, and applied only with `--execute`), and the time forms its options take.

use std::collections::BTreeMap;

use kafkit::TopicPartition;

/// Where the offsets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Each partition's first offset.
    Earliest,
    /// Each partition's end (after its last record).
    Latest,
    /// Where the group is (a plan that changes nothing, to see the offsets).
    Current,
    /// This offset on every partition.
    Offset(i64),
    /// The first record at or after this time (ms since the epoch); the end when none.
    Time(i64),
    /// The committed offset moved by this many (negative: back).
    ShiftBy(i64),
}

fn error(why: String) -> kafkit::Error {
    kafkit::Error::new(kafkit::ErrorKind::Config, "group offsets", why)
}

/// `--reset-to`: earliest, latest, current or an offset.
pub fn reset_to(s: &str) -> kafkit::Result<Target> {
    match s {
        "earliest" | "beginning" => Ok(Target::Earliest),
        "latest" | "end" => Ok(Target::Latest),
        "current" => Ok(Target::Current),
        n => n
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0 && n.bytes().all(|b| b.is_ascii_digit()))
            .map(Target::Offset)
            .ok_or_else(|| {
                error(format!(
                    "--reset-to '{n}' is not earliest, latest, current or an offset (0 or more); for a time use --to-datetime or --by-duration, to move by a count --shift-by"
                ))
            }),
    }
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `--to-datetime`: `YYYY-MM-DDTHH:MM:SS[.fff]` with an optional `Z` or `±HH:MM` offset (UTC
/// when none), a date alone (its midnight, UTC), or ms since the epoch.
pub fn datetime(s: &str) -> kafkit::Result<i64> {
    let bad = || {
        error(format!(
            "--to-datetime '{s}' is not a time: give YYYY-MM-DDTHH:MM:SS[.sss][Z|+HH:MM] (UTC when no offset), YYYY-MM-DD, or ms since the epoch"
        ))
    };
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| bad());
    }
    if !s.is_ascii() || s.len() < 10 {
        return Err(bad());
    }
    let num = |part: &str| -> kafkit::Result<i64> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (date, rest) = s.split_at(10);
    let d: Vec<&str> = date.split('-').collect();
    let [y, mo, da] = d.as_slice() else {
        return Err(bad());
    };
    let (y, mo, da) = (num(y)?, num(mo)?, num(da)?);
    if y.to_string().len() != 4 || !(1..=12).contains(&mo) || !(1..=31).contains(&da) {
        return Err(bad());
    }
    let (time, zone) = match rest.strip_prefix('T').or_else(|| rest.strip_prefix(' ')) {
        None if rest.is_empty() => ("00:00:00", ""),
        None => return Err(bad()),
        Some(t) => match t.find(['Z', '+', '-']) {
            Some(i) => t.split_at(i),
            None => (t, ""),
        },
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let t: Vec<&str> = hms.split(':').collect();
    let (h, mi, sec) = match t.as_slice() {
        [h, m] => (num(h)?, num(m)?, 0),
        [h, m, s] => (num(h)?, num(m)?, num(s)?),
        _ => return Err(bad()),
    };
    if h > 23 || mi > 59 || sec > 60 {
        return Err(bad());
    }
    let ms = match frac.len() {
        0 => 0,
        1..=9 => num(frac)? * 1000 / 10i64.pow(frac.len() as u32),
        _ => return Err(bad()),
    };
    let offset_min = match zone {
        "" | "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let hm = z[1..].replace(':', "");
            if hm.len() != 4 {
                return Err(bad());
            }
            let (oh, om) = (num(&hm[..2])?, num(&hm[2..])?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            sign * (oh * 60 + om)
        }
    };
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    let t = secs * 1000 + ms;
    if t < 0 {
        return Err(error(format!(
            "--to-datetime '{s}' is before 1970 (the epoch); use --reset-to earliest"
        )));
    }
    Ok(t)
}

/// `--by-duration`: how far back from now, as ISO 8601 (`PT1H`, `P1DT2H30M`, `PT0.5S`) or
/// short (`1h`, `30m`, `1h30m`, `2d`, `45s`); in ms.
pub fn duration(s: &str) -> kafkit::Result<i64> {
    let bad = || {
        error(format!(
            "--by-duration '{s}' is not a duration: give ISO 8601 such as PT1H or P1DT2H30M, or 1h, 30m, 1h30m, 2d, 45s"
        ))
    };
    let upper = s.to_ascii_uppercase();
    let (body, iso) = match upper.strip_prefix('P') {
        Some(b) => (b.to_string(), true),
        None => (upper.clone(), false),
    };
    let mut total: i64 = 0;
    let mut in_time = !iso;
    let mut number = String::new();
    let mut any = false;
    for c in body.chars() {
        match c {
            'T' if iso && !in_time && number.is_empty() => in_time = true,
            '0'..='9' | '.' => number.push(c),
            unit => {
                let ms_per: f64 = match (unit, in_time) {
                    ('D', _) if !iso || !in_time => 86_400_000.0,
                    ('H', true) => 3_600_000.0,
                    ('M', true) => 60_000.0,
                    ('S', true) => 1_000.0,
                    _ => return Err(bad()),
                };
                let n: f64 = number.parse().map_err(|_| bad())?;
                number.clear();
                let ms = n * ms_per;
                if !ms.is_finite() || ms > i64::MAX as f64 {
                    return Err(bad());
                }
                total = total.checked_add(ms as i64).ok_or_else(bad)?;
                any = true;
            }
        }
    }
    if !any || !number.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// One partition's row of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub partition: TopicPartition,
    /// The committed offset; `None` when the group has none there.
    pub current: Option<i64>,
    pub new: i64,
}

/// What each partition moves to, from its committed offset, its first and end offsets and,
/// for a time, the offset found for it (-1 when none: the end). Offsets outside a partition's
/// range are moved into it (as kafka-consumer-groups does). `current` and a shift leave out
/// the partitions without a committed offset (the caller says which).
pub fn plan(
    target: Target,
    partitions: &[TopicPartition],
    committed: &BTreeMap<TopicPartition, i64>,
    earliest: &BTreeMap<TopicPartition, i64>,
    latest: &BTreeMap<TopicPartition, i64>,
    by_time: &BTreeMap<TopicPartition, i64>,
) -> kafkit::Result<Vec<Row>> {
    let mut rows = Vec::with_capacity(partitions.len());
    for tp in partitions {
        let first = earliest.get(tp).copied().unwrap_or(0);
        let end = latest.get(tp).copied().unwrap_or(first).max(first);
        let current = committed.get(tp).copied();
        let wanted = match target {
            Target::Earliest => first,
            Target::Latest => end,
            Target::Offset(o) => o,
            Target::Time(_) => match by_time.get(tp).copied() {
                Some(o) if o >= 0 => o,
                _ => end,
            },
            Target::Current => match current {
                Some(c) => c,
                None => continue,
            },
            Target::ShiftBy(n) => match current {
                Some(c) => c.saturating_add(n),
                None => continue,
            },
        };
        rows.push(Row {
            partition: tp.clone(),
            current,
            new: wanted.clamp(first, end),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_to_names_or_an_offset() {
        assert_eq!(reset_to("earliest").unwrap(), Target::Earliest);
        assert_eq!(reset_to("latest").unwrap(), Target::Latest);
        assert_eq!(reset_to("current").unwrap(), Target::Current);
        assert_eq!(reset_to("42").unwrap(), Target::Offset(42));
        for bad in ["-1", "+4", "soon", "", "1h"] {
            assert!(reset_to(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn datetimes_are_utc_unless_they_say_otherwise() {
        assert_eq!(datetime("1970-01-01T00:00:00").unwrap(), 0);
        assert_eq!(datetime("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000_000);
        assert_eq!(
            datetime("2023-11-14T22:13:20.5").unwrap(),
            1_700_000_000_500
        );
        assert_eq!(
            datetime("2023-11-14T23:13:20+01:00").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            datetime("2023-11-14T21:13:20-0100").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(datetime("2023-11-14").unwrap(), 1_699_920_000_000);
        assert_eq!(datetime("2000-02-29T00:00").unwrap(), 951_782_400_000);
        assert_eq!(datetime("1700000000000").unwrap(), 1_700_000_000_000);
        for bad in [
            "",
            "yesterday",
            "2023-13-01",
            "2023-11-14T25:00:00",
            "2023-11-14X",
            "1969-12-31T23:59:59Z",
            "2023-11-14T22:13:20+1",
            "99999999999999999999",
            "２０２３-11-14",
            "2023-11-14T22:13:20.1234567890",
        ] {
            assert!(datetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_iso_or_short() {
        assert_eq!(duration("PT1H").unwrap(), 3_600_000);
        assert_eq!(duration("P1DT2H30M").unwrap(), 95_400_000);
        assert_eq!(duration("PT0.5S").unwrap(), 500);
        assert_eq!(duration("pt15m").unwrap(), 900_000);
        assert_eq!(duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(duration("2d").unwrap(), 172_800_000);
        assert_eq!(duration("45s").unwrap(), 45_000);
        for bad in [
            "",
            "P",
            "PT",
            "1",
            "1w",
            "PT1D",
            "P1H",
            "h",
            "1.2.3h",
            "PT99999999999999999999H",
        ] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plans_stay_inside_each_partition() {
        let tp = |p| TopicPartition::new("t", p);
        let parts = [tp(0), tp(1)];
        let committed = BTreeMap::from([(tp(0), 5)]);
        let earliest = BTreeMap::from([(tp(0), 2), (tp(1), 0)]);
        let latest = BTreeMap::from([(tp(0), 10), (tp(1), 3)]);
        let times = BTreeMap::from([(tp(0), 7), (tp(1), -1)]);
        let none = BTreeMap::new();
        let news = |t, by: &BTreeMap<_, _>| {
            plan(t, &parts, &committed, &earliest, &latest, by)
                .map(|rows| rows.iter().map(|r| r.new).collect::<Vec<_>>())
        };
        assert_eq!(news(Target::Earliest, &none).unwrap(), [2, 0]);
        assert_eq!(news(Target::Latest, &none).unwrap(), [10, 3]);
        assert_eq!(news(Target::Offset(4), &none).unwrap(), [4, 3]);
        assert_eq!(news(Target::Offset(0), &none).unwrap(), [2, 0]);
        assert_eq!(news(Target::Time(1), &times).unwrap(), [7, 3]);
        assert_eq!(news(Target::Current, &none).unwrap(), [5]);
        assert_eq!(news(Target::ShiftBy(-2), &none).unwrap(), [3]);
        let one = plan(
            Target::ShiftBy(-100),
            &parts[..1],
            &committed,
            &earliest,
            &latest,
            &none,
        )
        .unwrap();
        assert_eq!(
            one[0],
            Row {
                partition: tp(0),
                current: Some(5),
                new: 2
            }
        );
        let one = plan(
            Target::ShiftBy(i64::MAX),
            &parts[..1],
            &committed,
            &earliest,
            &latest,
            &none,
        )
        .unwrap();
        assert_eq!(one[0].new, 10);
    }

    proptest::proptest! {
        #[test]
        fn any_time_or_duration_parses_or_errs_without_panic(s in ".{0,40}", iso in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{0,12}[Z+-]?[0-9:]{0,5}") {
            let _ = datetime(&s);
            let _ = datetime(&iso);
            let _ = duration(&s);
            let _ = reset_to(&s);
        }

        #[test]
        fn any_duration_shape_parses_or_errs_without_panic(s in "[PpTt0-9.DdHhMmSs]{0,20}") {
            let _ = duration(&s);
        }
    }
}
