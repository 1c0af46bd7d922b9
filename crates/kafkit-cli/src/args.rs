//! Checks of option values, run by clap as it parses them: a value out of range is an error
//! naming the option (clap adds it) and the allowed range, before anything is connected to or
//! allocated.

/// An integer, or what it must be.
fn int<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.trim().parse().map_err(|_| format!("must be {what}"))
}

/// A count that must be at least 1 (`--max-records`, `--idle-timeout-secs`): 0 would stop
/// before the first record; leave the option out for no limit.
pub fn at_least_one(s: &str) -> Result<u64, String> {
    let what = "a whole number of at least 1 (leave the option out for no limit)";
    match int::<u64>(s, what)? {
        0 => Err("must be at least 1, not 0 (leave the option out for no limit)".to_string()),
        n => Ok(n),
    }
}

/// A partition index: 0 or more.
pub fn partition(s: &str) -> Result<i32, String> {
    let what = "a partition number, 0 or more";
    match int::<i32>(s, what)? {
        p if p < 0 => Err(format!("must be {what}, not {p}")),
        p => Ok(p),
    }
}

/// `topic create -p`: refused, with where the partition count goes now (`-p` is a partition,
/// as in kcat, in every command).
pub fn not_a_partition_count(_: &str) -> Result<String, String> {
    Err("-p names a partition in kafkit (as in kcat); give the number of partitions as --partitions N".to_string())
}

/// A timestamp in ms since the epoch: 0 or more.
pub fn timestamp(s: &str) -> Result<i64, String> {
    let what = "a time in ms since the epoch, 0 or more";
    match int::<i64>(s, what)? {
        t if t < 0 => Err(format!("must be {what}, not {t}")),
        t => Ok(t),
    }
}

/// `records delete --before`: an offset, or -1 for everything written so far.
pub fn before_offset(s: &str) -> Result<i64, String> {
    let what = "an offset (0 or more), or -1 for everything written so far";
    match int::<i64>(s, what)? {
        o if o < -1 => Err(format!("must be {what}, not {o}")),
        o => Ok(o),
    }
}

/// `topic create --partitions`: 1 or more, or -1 for the broker's default.
pub fn partition_count(s: &str) -> Result<i32, String> {
    let what = "a number of partitions, 1 or more (or -1 for the broker's default)";
    match int::<i32>(s, what)? {
        n if n == 0 || n < -1 => Err(format!("must be {what}, not {n}")),
        n => Ok(n),
    }
}

/// `topic create --replication-factor`: 1 or more, or -1 for the broker's default.
pub fn replication_factor(s: &str) -> Result<i16, String> {
    let what = "a replication factor, 1 or more (or -1 for the broker's default)";
    match int::<i16>(s, what)? {
        n if n == 0 || n < -1 => Err(format!("must be {what}, not {n}")),
        n => Ok(n),
    }
}

/// `--max-response-size`: at least 1 KiB (the library's floor).
pub fn max_response_size(s: &str) -> Result<usize, String> {
    let what = "a size in bytes, at least 1024";
    match int::<usize>(s, what)? {
        n if n < 1024 => Err(format!("must be {what}, not {n}")),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_start_at_one() {
        assert_eq!(at_least_one("5"), Ok(5));
        let e = at_least_one("0").unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        assert!(at_least_one("-1").is_err());
        assert!(at_least_one("many").is_err());
    }

    #[test]
    fn partitions_offsets_and_times_are_not_negative() {
        assert_eq!(partition("0"), Ok(0));
        assert!(partition("-1").unwrap_err().contains("not -1"));
        assert!(partition("99999999999").is_err());
        assert_eq!(timestamp("1700000000000"), Ok(1_700_000_000_000));
        assert!(timestamp("-1").is_err());
        assert_eq!(before_offset("-1"), Ok(-1));
        assert_eq!(before_offset("10"), Ok(10));
        assert!(before_offset("-2").is_err());
    }

    #[test]
    fn topic_shapes_are_positive_or_the_broker_default() {
        assert_eq!(partition_count("3"), Ok(3));
        assert_eq!(partition_count("-1"), Ok(-1));
        assert!(partition_count("0").unwrap_err().contains("not 0"));
        assert!(partition_count("-7").is_err());
        assert_eq!(replication_factor("-1"), Ok(-1));
        assert!(replication_factor("0").is_err());
        assert!(replication_factor("40000").is_err());
    }

    #[test]
    fn the_response_limit_is_at_least_a_kib() {
        assert_eq!(max_response_size("1024"), Ok(1024));
        assert!(max_response_size("1023")
            .unwrap_err()
            .contains("at least 1024"));
        assert!(max_response_size("-5").is_err());
    }
}
