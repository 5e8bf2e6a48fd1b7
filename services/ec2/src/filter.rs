//! `Filter.N.Name` / `Filter.N.Value.M` on Describe calls: filters are ANDed, the values of
//! one filter ORed; values may use `*` and `?` wildcards; `tag:<key>`, `tag-key` and
//! `tag-value` work on every resource with tags. An unknown filter name is an error, as in
//! AWS.

use gateway::AwsError;
use serde::{Deserialize, Serialize};

use crate::model::Tag;

/// One filter as the request carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    /// The filter name.
    pub name: String,
    /// Accepted values.
    #[serde(default)]
    pub values: Vec<String>,
}

/// A resource that Describe calls can filter.
pub trait Filterable {
    /// The filter names this resource supports besides the tag filters.
    const FILTERS: &'static [&'static str];
    /// The values of field `name` (one of [`Filterable::FILTERS`]).
    fn field(&self, name: &str) -> Vec<String>;
    /// The resource's tags.
    fn tags(&self) -> &[Tag];
}

/// Checks filter names before anything is evaluated.
pub fn validate<T: Filterable>(filters: &[Filter]) -> Result<(), AwsError> {
    for f in filters {
        let known = f.name.starts_with("tag:")
            || f.name == "tag-key"
            || f.name == "tag-value"
            || T::FILTERS.contains(&f.name.as_str());
        if !known {
            return Err(AwsError::bad_request(
                "InvalidParameterValue",
                format!("The filter '{}' is invalid", f.name),
            ));
        }
    }
    Ok(())
}

/// Whether `item` passes every filter.
pub fn matches<T: Filterable>(item: &T, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let values: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
            item.tags()
                .iter()
                .filter(|t| t.key == key)
                .map(|t| t.value.clone())
                .collect()
        } else if f.name == "tag-key" {
            item.tags().iter().map(|t| t.key.clone()).collect()
        } else if f.name == "tag-value" {
            item.tags().iter().map(|t| t.value.clone()).collect()
        } else {
            item.field(&f.name)
        };
        f.values
            .iter()
            .any(|want| values.iter().any(|have| wildcard(want, have)))
    })
}

/// Filters and paginates `items` (already in id order): returns the page and the next token.
pub fn page<'a, T: Filterable + 'a>(
    items: impl Iterator<Item = (&'a String, &'a T)>,
    filters: &[Filter],
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> Result<(Vec<&'a T>, Option<String>), AwsError> {
    validate::<T>(filters)?;
    // The model bounds MaxResults per operation (the gateway validates it); at most 1000 items
    // are returned whatever is asked.
    let max = match max_results {
        None => usize::MAX,
        Some(n) if n >= 1 => n.min(1000) as usize,
        Some(n) => {
            return Err(AwsError::bad_request(
                "InvalidParameterValue",
                format!(
                    "Value ( {n} ) for parameter maxResults is invalid. Expecting a value greater than 0."
                ),
            ));
        }
    };
    let mut out: Vec<(&'a String, &'a T)> = Vec::new();
    let mut more = false;
    for (id, item) in items {
        if let Some(after) = next_token
            && id.as_str() <= after
        {
            continue;
        }
        if !matches(item, filters) {
            continue;
        }
        if out.len() == max {
            more = true;
            break;
        }
        out.push((id, item));
    }
    let next = if more {
        out.last().map(|(id, _)| (*id).clone())
    } else {
        None
    };
    Ok((out.into_iter().map(|(_, t)| t).collect(), next))
}

/// `*` matches any run, `?` any one character; `\` escapes. Linear in the text for each
/// star (greedy with backtracking to the last star), so untrusted patterns cannot blow up.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Star,
        One,
        Char(char),
    }
    let mut p = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        p.push(match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            '\\' => Tok::Char(chars.next().unwrap_or('\\')),
            c => Tok::Char(c),
        });
    }
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Tok::Star) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Char(c)) if *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing {
        id: String,
        state: String,
        tags: Vec<Tag>,
    }

    impl Filterable for Thing {
        const FILTERS: &'static [&'static str] = &["state", "thing-id"];
        fn field(&self, name: &str) -> Vec<String> {
            match name {
                "state" => vec![self.state.clone()],
                "thing-id" => vec![self.id.clone()],
                _ => Vec::new(),
            }
        }
        fn tags(&self) -> &[Tag] {
            &self.tags
        }
    }

    fn f(name: &str, values: &[&str]) -> Filter {
        Filter {
            name: name.into(),
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn thing() -> Thing {
        Thing {
            id: "t-1".into(),
            state: "available".into(),
            tags: vec![Tag {
                key: "Name".into(),
                value: "blue-vpc".into(),
            }],
        }
    }

    #[test]
    fn filters_and_or_and_wildcards() {
        let t = thing();
        assert!(matches(&t, &[]));
        assert!(matches(&t, &[f("state", &["pending", "available"])]));
        assert!(!matches(&t, &[f("state", &["pending"])]));
        assert!(matches(
            &t,
            &[f("state", &["avail*"]), f("thing-id", &["t-?"])]
        ));
        assert!(!matches(
            &t,
            &[f("state", &["available"]), f("thing-id", &["t-2"])]
        ));
        assert!(matches(&t, &[f("tag:Name", &["*vpc"])]));
        assert!(!matches(&t, &[f("tag:Other", &["*"])]));
        assert!(matches(&t, &[f("tag-key", &["Name"])]));
        assert!(matches(&t, &[f("tag-value", &["blue-*"])]));
    }

    #[test]
    fn unknown_filter_is_an_error() {
        let e = validate::<Thing>(&[f("colour", &["red"])])
            .err()
            .map(|e| e.code.to_string());
        assert_eq!(e.as_deref(), Some("InvalidParameterValue"));
        assert!(validate::<Thing>(&[f("tag:anything", &["x"])]).is_ok());
    }

    #[test]
    fn wildcard_escapes() {
        assert!(wildcard("a\\*b", "a*b"));
        assert!(!wildcard("a\\*b", "axb"));
        assert!(wildcard("*", ""));
        assert!(wildcard("??", "ab"));
        assert!(!wildcard("??", "abc"));
        assert!(wildcard("a*b?d", "axxbcd"));
        let long = "a".repeat(5000);
        let started = std::time::Instant::now();
        assert!(!wildcard(&format!("{}b", "*a".repeat(50)), &long));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
