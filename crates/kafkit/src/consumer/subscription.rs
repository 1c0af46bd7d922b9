//! What a consumer subscribes to across several `subscribe` calls: as in KafkaJS, each call adds
//! to the subscription (topics, patterns, or both), and `from_beginning` applies to the topics
//! of the call that asked for it.

use std::collections::BTreeSet;

use crate::groups::consumer::Subscription;

/// Which subscribed topics start at the earliest offset when the group has no committed offset
/// for them (`subscribe(.., from_beginning = true)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FromBeginning {
    /// A pattern was subscribed from the beginning: every topic it matches starts there.
    pub all: bool,
    /// Topics subscribed by name from the beginning.
    pub topics: BTreeSet<String>,
}

impl FromBeginning {
    /// Whether `topic` starts at the earliest offset.
    pub fn applies(&self, topic: &str) -> bool {
        self.all || self.topics.contains(topic)
    }

    /// Whether any subscribed topic does.
    pub fn any(&self) -> bool {
        self.all || !self.topics.is_empty()
    }
}

/// One `subscribe` call's worth.
pub(crate) enum Addition {
    Topics(BTreeSet<String>),
    Pattern(String),
}

/// The subscription after adding `add` to `current`. Topics join topics; a pattern joins
/// topics or another pattern as one regular expression matching either (the group protocol
/// carries one regular expression, or names).
pub(crate) fn add(current: Option<&Subscription>, add: Addition) -> Subscription {
    match (current, add) {
        (None, Addition::Topics(t)) => Subscription::Topics(t),
        (None, Addition::Pattern(p)) => Subscription::Pattern(p),
        (Some(Subscription::Topics(old)), Addition::Topics(t)) => {
            Subscription::Topics(old.iter().cloned().chain(t).collect())
        }
        (Some(Subscription::Topics(old)), Addition::Pattern(p)) => {
            Subscription::Pattern(alternatives(&p, old))
        }
        (Some(Subscription::Pattern(old)), Addition::Topics(t)) => {
            Subscription::Pattern(alternatives(old, &t))
        }
        (Some(Subscription::Pattern(old)), Addition::Pattern(p)) if *old == p => {
            Subscription::Pattern(p)
        }
        (Some(Subscription::Pattern(old)), Addition::Pattern(p)) => {
            Subscription::Pattern(format!("(?:{old})|(?:{p})"))
        }
    }
}

/// A pattern matching `pattern` or any of `topics` by its exact name.
fn alternatives(pattern: &str, topics: &BTreeSet<String>) -> String {
    let mut out = format!("(?:{pattern})");
    for t in topics {
        out.push('|');
        // Topic names are [a-zA-Z0-9._-]: only '.' means something in a regular expression.
        out.push_str(&t.replace('.', "\\."));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn topics_add_to_topics() {
        let s = add(None, Addition::Topics(topics(&["a"])));
        let s = add(Some(&s), Addition::Topics(topics(&["b", "a"])));
        assert_eq!(s, Subscription::Topics(topics(&["a", "b"])));
    }

    #[test]
    fn a_pattern_and_topics_become_one_pattern_matching_both() {
        let s = add(None, Addition::Topics(topics(&["orders.v1"])));
        let s = add(Some(&s), Addition::Pattern("pay-.*".into()));
        let Subscription::Pattern(p) = &s else {
            panic!("{s:?}")
        };
        let re = regex::Regex::new(&format!("^(?:{p})$")).unwrap();
        assert!(re.is_match("orders.v1"));
        assert!(re.is_match("pay-eu"));
        assert!(!re.is_match("ordersXv1"), "the dot of a name is literal");
        let s = add(Some(&s), Addition::Pattern("audit".into()));
        let Subscription::Pattern(p) = &s else {
            panic!("{s:?}")
        };
        let re = regex::Regex::new(&format!("^(?:{p})$")).unwrap();
        assert!(re.is_match("audit") && re.is_match("pay-us") && !re.is_match("other"));
    }

    #[test]
    fn the_same_pattern_twice_is_one_pattern() {
        let s = add(None, Addition::Pattern("a.*".into()));
        assert_eq!(
            add(Some(&s), Addition::Pattern("a.*".into())),
            Subscription::Pattern("a.*".into())
        );
    }

    #[test]
    fn from_beginning_is_per_topic_unless_a_pattern_asked_for_it() {
        let mut f = FromBeginning::default();
        assert!(!f.any());
        f.topics.insert("a".into());
        assert!(f.applies("a") && !f.applies("b") && f.any());
        f.all = true;
        assert!(f.applies("b"));
    }
}
